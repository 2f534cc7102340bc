"""``xaixray explain``: Grad-CAM, LIME and SHAP reports for images (figure, JSON, HTML)."""

from __future__ import annotations

import argparse

from .common import (
    add_model_overrides,
    add_sample_counts,
    add_shap_masker,
    default_methods,
    methods_help,
    shap_params,
)


def methods_arg(text: str) -> list[str]:
    """argparse type: comma-separated method names, checked without importing TensorFlow."""
    from ..errors import ExplainerError
    from ..explainers import check_methods

    try:
        return check_methods(text)
    except ExplainerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def shard_arg(text: str) -> tuple[int, int]:
    """argparse type: ``K/N`` with 0 <= K < N."""
    from ..errors import XaixrayError
    from ..run.shards import parse_shard

    try:
        return parse_shard(text)
    except XaixrayError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain", help="explain predictions with Grad-CAM, LIME and SHAP (figure + report)",
        description="Explain a model's predictions on images or folders of images. Each image "
                    "gets its own folder in --out with figure.png, report.json and a "
                    "self-contained report.html; several images also get an index.html. "
                    "MODEL (a .keras file) may be left out to use the bundled default model.",
        usage="xaixray explain [MODEL] IMAGE_OR_FOLDER [...] [options]")
    p.add_argument("inputs", nargs="+", metavar="[MODEL] IMAGE",
                   help="optional .keras model, then image files or folders")
    p.add_argument("--model", help="model file (alternative to the first argument)")
    p.add_argument("--methods", type=methods_arg, default=default_methods(),
                   help=methods_help())
    p.add_argument("--out", default="xaixray-out", metavar="DIR",
                   help="output folder (default: xaixray-out)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into an existing, non-empty output folder (replaces xaixray's "
                        "files, deletes nothing)")
    p.add_argument("--target", metavar="CLASS",
                   help="class to explain, by name or index (default: the predicted class)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for the methods that sample (LIME, SHAP, RISE; default: 0)")
    add_sample_counts(p)
    add_shap_masker(p)
    p.add_argument("--anonymize", action="store_true",
                   help="leave paths and file names out of every file written: images are "
                        "named by a hash of their pixels (messages here still name them)")
    p.add_argument("--layer", metavar="NAME",
                   help="the CAMs (gradcam, gradcam++, hirescam, layercam, scorecam): layer to "
                        "use (default: the last convolutional feature map); layercam also "
                        "takes a comma-separated list and fuses their maps")
    p.add_argument("--shard", type=shard_arg, metavar="K/N",
                   help="explain only every N-th input from the K-th (K from 0), into the same "
                        "--out as the other shards; then run `xaixray index OUT`")
    p.add_argument("--resume", action="store_true",
                   help="skip inputs whose report in --out is complete; redo incomplete ones")
    p.add_argument("--faithfulness", action=argparse.BooleanOptionalAction, default=None,
                   help="measure how faithful each map is (deletion and insertion against "
                        "random orders, border and outside-body shares) and add a 'How "
                        "faithful is each map?' section to each report (default: on; "
                        "--no-faithfulness leaves it out, saving about 15%% of the time)")
    add_model_overrides(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from ..run import explain_paths
    from .common import images_from_args, load_classifier, warn

    found = images_from_args(args, "explain")
    if found is None:
        return 2
    paths, problems = found
    for line in problems:
        warn("explain", f"skipped {line}")
    if not paths:
        warn("explain", "error: no images to explain")
        return 1
    clf = load_classifier(args)
    result = explain_paths(
        clf, paths, args.out, methods=args.methods, target=args.target, seed=args.seed,
        overwrite=args.overwrite, progress=sys.stderr.isatty(),
        on_message=lambda msg: tqdm.write(f"xaixray explain: {msg}", file=sys.stderr),
        num_samples=args.num_samples, max_evals=args.max_evals, layer=args.layer,
        params=shap_params(args),
        shard=args.shard, resume=args.resume, anonymize=args.anonymize,
        **({} if args.faithfulness is None else {"faithfulness": args.faithfulness}))
    failures = problems + result.failures
    if result.resumed:
        print(f"{result.resumed} complete report(s) kept from an earlier run")
    if result.shared:
        print(f"{result.shared} image(s) identical to one another shard explained: "
              "its report is theirs")
    made = len(result.reports) - result.resumed - result.shared
    if made > 1:
        print(f"explained {made} images in {result.seconds:.0f} s "
              f"({result.rate:.2f} images/s)")
    if args.shard is not None:
        k, n = args.shard
        print(f"shard {k}/{n}: {len(result.reports)} report(s) in {result.out}; when every "
              f"shard is done, run: xaixray index {result.out}")
    elif result.index is not None:
        print(f"{len(result.reports)} report(s) in {result.out}; open {result.index}")
    elif result.reports:
        print(f"report: {result.reports[0]}")
    if failures:
        warn("explain", f"{len(failures)} input(s) could not be explained:")
        for line in failures:
            print(f"  {line}", file=sys.stderr)
    return 1 if failures else 0
