"""Orchestration: many inputs -> predictions or explanations -> files -> index.

The CLI, ``xaixray demo`` and the web app call these; so can any script.
"""

from .audit import Audit, audit
from .explanations import DEFAULT_OUT, ExplainRun, explain, explain_paths
from .predictions import FilePrediction, predict_files
from .shards import index_reports, parse_shard

__all__ = [
    "Audit",
    "audit",
    "DEFAULT_OUT",
    "ExplainRun",
    "FilePrediction",
    "explain",
    "explain_paths",
    "index_reports",
    "parse_shard",
    "predict_files",
]
