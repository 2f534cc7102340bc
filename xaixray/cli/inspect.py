"""``xaixray inspect``: what xaixray will do with a model file, before it does it."""

from __future__ import annotations

import argparse

from .common import add_model_overrides, model_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect", help="show what xaixray reads from a model file, what it guesses, and what "
                        "it will do with it",
        description="Show what xaixray will do with a model file before it does it: input "
                    "size, channels, layout and pixel scaling (each marked read from the file, "
                    "guessed, or stated with a flag), the output kind and class names, the "
                    "positive class and threshold, the layer Grad-CAM will use and which "
                    "methods can run, the Keras version that saved the file and whether Keras "
                    "safe mode loads it. Flags given here (--scaling, --class-names, ...) show "
                    "what they would change.",
        usage="xaixray inspect [MODEL] [--json] [options]")
    p.add_argument("model", nargs="?", default="default", type=model_arg, metavar="MODEL",
                   help="a .keras model file (default: the bundled model)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--layer", metavar="NAME",
                   help="Grad-CAM: check this layer instead of the one xaixray would pick")
    add_model_overrides(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..explainers import describe_methods
    from ..files import to_json
    from ..model_description import describe_text
    from .common import load_classifier

    clf = load_classifier(args, notice=False)  # the description says what was guessed
    description = {**clf.describe(), "explain": describe_methods(clf, layer=args.layer)}
    print(to_json(description).rstrip() if args.json else describe_text(description))
    return 0
