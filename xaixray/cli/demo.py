"""``xaixray demo``: explain a bundled X-ray with the bundled default model."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="explain a bundled sample X-ray with the bundled model",
        description="Explain one of the sample X-rays shipped with xaixray (Kermany et al. 2018, "
                    "CC BY 4.0) with the bundled default model, and say where the report is. "
                    "Needs no data, network or GPU.")
    p.add_argument("--out", type=Path, default=Path("xaixray-demo"),
                   help="output folder (a fresh numbered one is used if it exists)")
    p.add_argument("--methods", default="gradcam,lime,shap")
    p.add_argument("--all", action="store_true", help="explain every bundled sample")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bundled import sample_images
    from ..classifier import Classifier
    from ..run import explain_paths

    samples = sample_images()
    chosen = samples if args.all else [next(p for p in samples if "PNEUMONIA" in p.name)]
    out, k = args.out, 2
    while out.exists() and (not out.is_dir() or any(out.iterdir())):
        out, k = args.out.with_name(f"{args.out.name}-{k}"), k + 1
    clf = Classifier.load("default")
    print(f"explaining {', '.join(p.name for p in chosen)} with the bundled model "
          f"({clf.name}, threshold {clf.threshold:.2f}) ...")
    result = explain_paths(clf, chosen, out, methods=[m.strip() for m in args.methods.split(",")])
    for path in result.reports:
        print(f"report: {path}")
    print(f"open {result.main_page} in a browser; the figure is beside it (figure.png)")
    return 0 if result.ok else 1
