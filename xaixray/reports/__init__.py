"""Report writers: per-image ``figure.png`` + ``report.json`` + self-contained ``report.html``.

Every write is atomic (a temporary file moved into place) and never silently replaces a folder
the user made.

>>> from xaixray.reports import write_report                         # doctest: +SKIP
>>> write_report(result, "report/")                                  # doctest: +SKIP
PosixPath('report/report.html')
"""

from .content import FILES, anonymized, report_dict
from .html import render_index_html, render_report_html
from .writer import (
    INDEX_NAME,
    ReportError,
    atomic_write,
    folder_names,
    prepare_folder,
    save_figure,
    write_index,
    write_report,
)

__all__ = [
    "FILES",
    "INDEX_NAME",
    "ReportError",
    "anonymized",
    "atomic_write",
    "folder_names",
    "prepare_folder",
    "render_index_html",
    "render_report_html",
    "report_dict",
    "save_figure",
    "write_index",
    "write_report",
]
