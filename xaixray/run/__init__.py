"""Orchestration: many inputs -> predictions or explanations -> files -> index.

The CLI, ``xaixray demo`` and the web app call these; so can any script.
"""

from .audit import Audit, audit
from .explanations import DEFAULT_OUT, ExplainRun, explain, explain_paths
from .predictions import FilePrediction, predict_files

__all__ = [
    "Audit",
    "audit",
    "DEFAULT_OUT",
    "ExplainRun",
    "FilePrediction",
    "explain",
    "explain_paths",
    "predict_files",
]
