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
from ..version import __version__

COMMANDS = ("models", "train", "evaluate", "predict", "explain", "audit", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xaixray",
        description="Explainable pneumonia detection on chest X-rays: train, evaluate, predict "
                    "and explain (Grad-CAM, LIME, SHAP).",
    )
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


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing on CPU machines) hidden.

    The messages are written straight to file descriptor 2 before logging is set up, so they are
    captured in a temporary file and shown only if the import fails.
    """
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except Exception:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xaixray`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command != "models":
            import_tensorflow_quietly()
        return int(args.func(args) or 0)
    except XaixrayError as exc:
        print(f"xaixray {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # an output that cannot be written, a disk that is full
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"xaixray {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"xaixray {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
