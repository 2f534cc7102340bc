"""The ``xaixray`` command: a thin shell over the library.

Each sub-command lives in its own module with ``add_parser(subparsers)`` and ``run(args)``.
Nothing here imports TensorFlow at module level, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import XaixrayError

COMMANDS = ("models", "train", "evaluate", "predict", "explain", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xaixray",
        description="Explainable pneumonia detection on chest X-rays: train, evaluate, predict "
                    "and explain (Grad-CAM, LIME, SHAP).",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"xaixray {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"xaixray.cli.{name}")
        except ModuleNotFoundError:
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xaixray`` console script; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except XaixrayError as exc:
        print(f"xaixray {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"xaixray {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
