"""``xaixray audit``: how faithful a model's maps are, over a labelled set or phantoms."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.implants import CONTRAST, VARIANTS
from .common import (
    add_model_overrides,
    add_sample_counts,
    add_shap_masker,
    default_methods,
    methods_help,
    model_arg,
    positive_int,
    shap_params,
)
from .explain import methods_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit", help="measure how faithful the explanations are (deletion/insertion, "
                      "randomisation, localisation, shortcuts)",
        description="Explain a stratified sample of a labelled folder (DIR/test/{NORMAL,"
                    "PNEUMONIA}/ or DIR/{NORMAL,PNEUMONIA}/), of generated phantoms with "
                    "--phantoms N, or of N of DIR's NORMAL X-rays with a known implant (a "
                    "lesion, or a laterality-marker shortcut) and its mask with --implants N "
                    "(for a model trained on such implants, as benchmarks/known_truth.py "
                    "trains them), and measure every map: deletion and insertion against random "
                    "rankings, the cascading weight-randomisation check on a subset, the "
                    "pointing game where lesion masks exist (phantoms, or NAME_mask.png beside "
                    "an image), and the share of attribution in the image border and outside "
                    "the body. Writes audit.json, audit.md and audit.html into --out.",
        usage="xaixray audit [MODEL] [DIR] [options]")
    p.add_argument("model", type=model_arg, metavar="MODEL", nargs="?", default="default",
                   help=".keras file or 'default' (the bundled model)")
    p.add_argument("data", type=Path, metavar="DIR", nargs="?",
                   help="labelled folder (not needed with --phantoms; with --implants, "
                        "the NORMAL X-rays to implant into)")
    p.add_argument("--methods", type=methods_arg, default=default_methods(),
                   help=methods_help())
    p.add_argument("--n", type=positive_int, default=100, metavar="N",
                   help="images to explain, stratified by class (default: 100)")
    p.add_argument("--phantoms", type=positive_int, metavar="N",
                   help="audit N generated phantoms (half with lesions) instead of DIR")
    p.add_argument("--implants", type=positive_int, metavar="N",
                   help="audit N of DIR's NORMAL X-rays, half given a known implant "
                        "(xaixray.data.make_implants) whose mask is the right answer")
    p.add_argument("--implant-variant", choices=VARIANTS, default="lesion",
                   help="with --implants: lesion (a soft opacity in a lung field against a "
                        "ring control, the default) or shortcut (a burned-in 'L' marker whose "
                        "corner gives the label)")
    p.add_argument("--implant-contrast", type=float, default=CONTRAST, metavar="C",
                   help=f"with --implants: a lesion's peak added brightness on [0, 1] "
                        f"(default: {CONTRAST})")
    p.add_argument("--randomization-n", type=int, default=5, metavar="N",
                   help="images that get the weight-randomisation check (default: 5; 0 = none)")
    p.add_argument("--randomization-steps", type=positive_int, default=3, metavar="N",
                   help="cascading randomisation steps, the last randomising every layer "
                        "(default: 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample and the methods")
    p.add_argument("--removal", choices=("blur", "road"), default="blur",
                   help="how deletion and insertion remove pixels: blur (default) or road "
                        "(noisy linear imputation, Rong et al. 2022; slower)")
    add_sample_counts(p)
    add_shap_masker(p)
    p.add_argument("--out", type=Path, default=Path("xaixray-audit"), metavar="DIR",
                   help="output folder (default: xaixray-audit)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into an existing, non-empty output folder")
    add_model_overrides(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..data import folder_classes, implants_from_folder, load_folder
    from ..errors import XaixrayError
    from ..reports import prepare_folder
    from ..run.audit import audit
    from .common import load_classifier, note_orphan_masks

    if args.data is None and args.phantoms is None:
        raise XaixrayError("give a labelled folder DIR, or --phantoms N"
                           + (" (--implants N implants into DIR's NORMAL X-rays)"
                              if args.implants else ""))
    if args.phantoms is not None and args.implants is not None:
        raise XaixrayError("give --phantoms or --implants, not both")
    if not 0 < args.implant_contrast <= 1:
        raise XaixrayError(f"--implant-contrast must be in (0, 1], got {args.implant_contrast}")
    if args.data is not None and not args.data.exists():
        raise XaixrayError(f"{args.data}: no such folder")
    prepare_folder(args.out, args.overwrite)  # refuse a used folder before hours of work
    clf = load_classifier(args)
    data = None
    if args.implants is not None:
        data = implants_from_folder(args.data, args.implants,
                                    max(clf.preprocessing.input_size), args.implant_variant,
                                    seed=args.seed, contrast=args.implant_contrast)
    elif args.data is not None and args.phantoms is None:
        data = load_folder(args.data, split="test",
                           class_names=folder_classes(clf.class_names))
        note_orphan_masks("audit", data.orphan_masks)
    result = audit(clf, data, args.methods, n=args.n, phantoms=args.phantoms,
                   seed=args.seed, randomization_n=args.randomization_n,
                   randomization_steps=args.randomization_steps,
                   progress=sys.stderr.isatty(), num_samples=args.num_samples,
                   max_evals=args.max_evals, removal=args.removal,
                   params=shap_params(args))
    files = result.write(args.out, overwrite=True)
    print(files["markdown"].read_text(encoding="utf-8").split("## Correct predictions")[0].rstrip())
    print(f"\nwrote {files['json']}, {files['markdown'].name} and {files['html'].name}")
    failures = [*result.failures, *getattr(data, "skipped", [])]
    for line in failures:
        print(f"xaixray audit: could not audit {line}", file=sys.stderr)
    return 1 if failures else 0
