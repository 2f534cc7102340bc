"""Writing reports: atomic files, folders that never silently replace a user's work."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import XaixrayError
from ..explainers import ExplanationSet
from ..files import atomic_folder, to_json, write_bytes
from ..plots import figure_to_png, plot_explanations, plot_faithfulness
from .content import FILES, anonymized, report_dict
from .html import render_index_html, render_report_html

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

INDEX_NAME = "index.html"


class ReportError(XaixrayError, OSError):
    """An output folder or file that cannot be written as asked."""


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` next to ``path`` and move it into place (see :mod:`xaixray.files`).

    Text is UTF-8; file names that are not valid UTF-8 reach Python as surrogates and are written
    as backslash escapes. Raises :class:`ReportError` when the file cannot be written.
    """
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    try:
        return write_bytes(path, payload)
    except OSError as exc:
        raise ReportError(f"{path}: cannot write ({exc.strerror or exc})") from None


def prepare_folder(folder: str | os.PathLike, overwrite: bool = False) -> Path:
    """Create ``folder``; refuse an existing non-empty one unless ``overwrite``.

    With ``overwrite`` nothing is deleted: xaixray's own files are replaced, others stay.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ReportError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise ReportError(f"{folder}: already exists and is not empty; pass overwrite=True "
                          "(--overwrite) or choose another output folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{folder}: cannot create ({exc.strerror or exc})") from None
    return folder


def folder_names(sources: Iterable[str | os.PathLike]) -> list[str]:
    """One safe, distinct folder name per input: its file stem, deduplicated (``a``, ``a-2``)."""
    names: list[str] = []
    seen: set[str] = set()
    for i, src in enumerate(sources):
        stem = Path(str(src)).stem if str(src) else ""
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or f"image-{i + 1}"
        base = base[:80]
        name, k = base, 2
        while name.lower() in seen or name.lower() == INDEX_NAME:
            name, k = f"{base}-{k}", k + 1
        seen.add(name.lower())
        names.append(name)
    return names


def write_report(result: ExplanationSet, folder: str | os.PathLike, overwrite: bool = False,
                 figure_options: Mapping[str, Any] | None = None,
                 anonymize: bool = False) -> Path:
    """Write one image's ``figure.png``, ``report.json`` and self-contained ``report.html``.

    Parameters
    ----------
    result
        The image's :class:`~xaixray.explainers.ExplanationSet`.
    folder
        Created if needed; an existing non-empty folder is refused unless ``overwrite``.
    overwrite
        Replace the three files in an existing folder (nothing else there is touched).
    figure_options
        Keywords for :func:`xaixray.plots.plot_explanations`.
    anonymize
        Name the image by a hash of its pixels in all three files, instead of its file name
        (figure and page) and full path (``report.json``); see :func:`anonymized`.

    Returns
    -------
    Path
        The ``report.html`` written.

    Notes
    -----
    A new folder appears complete or not at all: the files are written into a temporary folder
    beside it, which is then renamed (an interrupted run leaves no half-written report). In an
    existing folder each file is replaced atomically.
    """
    folder = Path(folder)
    if folder.exists():
        prepare_folder(folder, overwrite)
    if anonymize:
        result = anonymized(result)
    report = report_dict(result)
    png = figure_to_png(plot_explanations(result, **dict(figure_options or {})))
    curves = plot_faithfulness(result) if result.faithfulness else None
    curves_png = figure_to_png(curves) if curves is not None else None
    files = {FILES["figure"]: png, FILES["json"]: to_json(report),
             FILES["html"]: render_report_html(report, png, curves_png)}
    if folder.is_dir():
        for name, data in files.items():
            atomic_write(folder / name, data)
        return folder / FILES["html"]
    try:
        with atomic_folder(folder) as tmp:
            for name, data in files.items():
                atomic_write(tmp / name, data)
    except FileExistsError:
        raise ReportError(f"{folder}: appeared while the report was written; choose another "
                          "output folder") from None
    except ReportError:
        raise
    except OSError as exc:
        raise ReportError(f"{folder}: cannot create ({exc.strerror or exc})") from None
    return folder / FILES["html"]


def write_index(folder: str | os.PathLike, entries: Iterable[Mapping[str, Any]],
                failures: Iterable[str] = (), title: str = "xaixray explanations") -> Path:
    """Write ``index.html`` into ``folder`` (see :func:`render_index_html` for ``entries``)."""
    return atomic_write(Path(folder) / INDEX_NAME, render_index_html(entries, failures, title))


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write a Matplotlib figure as PNG, atomically (see :func:`atomic_write`)."""
    return atomic_write(path, figure_to_png(fig, dpi=dpi))
