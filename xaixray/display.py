"""Rich display in notebooks: a registry of renderers that the result classes look up.

Result classes live in low layers (``Classifier``, ``Evaluation``, ``Explanation``) and must not
import the figures and report HTML above them. Each class's ``_repr_html_`` (and
``_repr_png_``) asks this registry instead; :mod:`xaixray.reports.notebook` fills it. The facade
(``xaixray/__init__``, the top layer, always imported first) installs the *loader*, the function
that imports that module, so the renderers are registered on the first display in any session
and ``import xaixray`` stays light. A class with no renderer displays as its plain ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_HTML: dict[type, Callable[[Any], str]] = {}
_PNG: dict[type, Callable[[Any], bytes | None]] = {}
_loader: Callable[[], None] | None = None


def register(cls: type, html: Callable[[Any], str] | None = None,
             png: Callable[[Any], bytes | None] | None = None) -> None:
    """Render instances of ``cls`` (and its subclasses) with ``html`` and ``png``."""
    if html is not None:
        _HTML[cls] = html
    if png is not None:
        _PNG[cls] = png


def set_loader(loader: Callable[[], None]) -> None:
    """The function that registers the renderers, called once before the first lookup."""
    global _loader
    _loader = loader


def html(obj: Any) -> str | None:
    """``obj`` as an HTML fragment, or ``None`` when no renderer is registered for its type."""
    render = _find(_HTML, obj)
    return None if render is None else render(obj)


def png(obj: Any) -> bytes | None:
    """``obj`` as PNG bytes, or ``None`` when it has no picture."""
    render = _find(_PNG, obj)
    return None if render is None else render(obj)


def _find(table: dict[type, Callable], obj: Any) -> Callable | None:
    global _loader
    if _loader is not None:
        load, _loader = _loader, None
        load()
    return next((table[c] for c in type(obj).__mro__ if c in table), None)
