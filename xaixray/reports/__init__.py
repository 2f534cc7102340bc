"""Report writers: per-image ``figure.png`` + ``report.json`` + self-contained ``report.html``.

>>> from xaixray.reports import explain_paths                        # doctest: +SKIP
>>> run = explain_paths(clf, ["a.jpeg", "b.jpeg"], "xaixray-out")    # doctest: +SKIP
>>> run.index                                                        # doctest: +SKIP
PosixPath('xaixray-out/index.html')
"""

from .batch import DEFAULT_OUT, ExplainRun, explain_paths
from .content import FILES, clean_json, report_dict
from .html import render_index_html, render_report_html
from .writer import (
    INDEX_NAME,
    ReportError,
    atomic_write,
    folder_names,
    prepare_folder,
    write_index,
    write_report,
)

__all__ = [
    "DEFAULT_OUT",
    "FILES",
    "INDEX_NAME",
    "ExplainRun",
    "ReportError",
    "atomic_write",
    "clean_json",
    "explain_paths",
    "folder_names",
    "prepare_folder",
    "render_index_html",
    "render_report_html",
    "report_dict",
    "write_index",
    "write_report",
]
