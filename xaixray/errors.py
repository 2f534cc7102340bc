"""Exceptions that carry a one-line, user-facing message.

The CLI prints ``str(error)`` of any :class:`XaixrayError` as a single line and exits non-zero,
without a traceback. Library users can catch the specific subclasses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class XaixrayError(Exception):
    """Base class for every error xaixray raises on purpose."""


class ImageError(XaixrayError, ValueError):
    """An image file or array that cannot be used (missing, unreadable, wrong shape, ...)."""


class ModelError(XaixrayError, ValueError):
    """A model file or model that cannot be loaded or used as asked."""


class DataError(XaixrayError, ValueError):
    """A dataset folder that does not have the expected layout or content."""


class ExplainerError(XaixrayError, ValueError):
    """An explanation method that cannot run on this model or input."""



def one_line(exc: BaseException, limit: int = 300, last: bool = False) -> str:
    """One line of an exception's message, for a one-line error.

    The first non-empty line (the last with ``last``, where a library puts the reason at the
    end, as OpenCV does), cut to ``limit`` characters; the exception's type name if it says
    nothing.
    """
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return (lines[-1] if last else lines[0])[:limit]


INPUT_ATTRIBUTE = "xaixray_input"
"""Attribute naming the input an unexpected exception happened on (see :func:`about_input`)."""


@contextmanager
def about_input(source: object) -> Iterator[None]:
    """Tag an unexpected exception raised inside the block with the input it happened on.

    The exception is re-raised unchanged (traceback included), with ``xaixray_input`` set to
    ``str(source)`` unless an inner block already set it, so that a one-line message can name
    the input: see :func:`input_of`. :class:`XaixrayError` messages name their input already.
    """
    try:
        yield
    except XaixrayError:
        raise
    except Exception as exc:
        if getattr(exc, INPUT_ATTRIBUTE, None) is None:
            try:
                setattr(exc, INPUT_ATTRIBUTE, str(source))
            except (AttributeError, TypeError):  # an exception type that takes no attributes
                pass
        raise


def input_of(exc: BaseException) -> str | None:
    """The input :func:`about_input` tagged ``exc`` with, or the file an ``OSError`` names."""
    source = getattr(exc, INPUT_ATTRIBUTE, None)
    if source is None and isinstance(exc, OSError) and exc.filename is not None:
        source = str(exc.filename)
    return source
