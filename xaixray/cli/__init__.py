"""The ``xaixray`` command: a thin shell over the library.

Each sub-command lives in its own module with ``add_parser(subparsers)`` and ``run(args)``.
Nothing here imports TensorFlow at module level, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..errors import XaixrayError, input_of, one_line
from ..version import __version__

COMMANDS = ("models", "inspect", "train", "evaluate", "calibrate", "predict", "explain", "audit",
            "index", "demo", "samples", "serve")
DEBUG_HELP = ("show the traceback of any error, and the warnings and log messages of the "
              "libraries (hidden otherwise)")
QUIET_LOGGERS = ("tensorflow", "absl", "h5py", "matplotlib", "PIL", "numba", "shap", "pydicom")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xaixray",
        description="Explainable pneumonia detection on chest X-rays: train, evaluate, predict "
                    "and explain (Grad-CAM, LIME, SHAP).",
    )
    parser.add_argument("--version", action="version", version=f"xaixray {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"xaixray.cli.{name}")
        except ModuleNotFoundError:
            continue
        module.add_parser(sub)
    for command in sub.choices.values():  # also accepted after the command's name
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help=DEBUG_HELP)
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
    """Entry point of the ``xaixray`` console script; returns the exit code.

    Every error is one line on stderr (``xaixray COMMAND: error: ...``) and a non-zero exit
    code; an unexpected one also names the input it happened on, where known, and points to
    ``--debug``, which shows the traceback and the libraries' warnings and log messages. A
    reader that closes the output early (``xaixray inspect --json MODEL | head -c 100``) ends
    the command quietly with exit code 1, as the Python docs advise (``signal``, "Note on
    SIGPIPE").
    """
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not as a message at interpreter exit
    except BrokenPipeError:
        try:  # what is still buffered goes nowhere when Python flushes it at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # stdout replaced by an object without a descriptor
            pass
        return 1


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone (and not, say, a socket of the
    web app that broke)."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poll.poll(0))
    except (OSError, ValueError, AttributeError):  # no descriptor: not a pipe
        return False


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command, debug = args.command, args.debug
    try:
        precheck = getattr(args, "precheck", None)
        if precheck is not None:  # e.g. an optional extra that is missing: say so at once
            precheck()
        with _libraries_quiet(not debug):
            if command not in ("models", "samples", "index"):
                import_tensorflow_quietly()
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"xaixray {command}: interrupted", file=sys.stderr)
        return 130
    except XaixrayError as exc:
        _traceback(debug)
        print(f"xaixray {command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # an output that cannot be written, a disk that is full
        if isinstance(exc, BrokenPipeError) and _stdout_closed():
            raise  # the reader went away: nothing to say, and no one to say it to
        _traceback(debug)
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"xaixray {command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug or a library failure: still one line
        _traceback(debug)
        source = input_of(exc)
        where = f" on {source}" if source else ""
        hint = "" if debug else "; run again with --debug to see the traceback"
        print(f"xaixray {command}: error: unexpected {type(exc).__name__}{where}: "
              f"{one_line(exc, 200)}{hint}", file=sys.stderr)
        return 1


def _traceback(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()


@contextmanager
def _libraries_quiet(quiet: bool) -> Iterator[None]:
    """Hide the libraries' Python warnings and log messages below ERROR while the command runs.

    xaixray says what matters itself, in one line; ``--debug`` shows everything.
    """
    if not quiet:
        yield
        return
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(max(logger.level, logging.ERROR))
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
