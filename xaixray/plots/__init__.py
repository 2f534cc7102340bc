"""Figures (matplotlib, without pyplot): they are returned, never written.

:mod:`xaixray.reports` writes them (``save_figure``, ``figure_to_png``).
"""

from .evaluation import plot_confusion_matrix, plot_history, plot_reliability, plot_roc
from .explanation import figure_to_png, plot_explanation, plot_explanations, plot_overlay
from .faithfulness import plot_audit, plot_faithfulness

__all__ = [
    "figure_to_png",
    "plot_audit",
    "plot_confusion_matrix",
    "plot_explanation",
    "plot_explanations",
    "plot_faithfulness",
    "plot_history",
    "plot_overlay",
    "plot_reliability",
    "plot_roc",
]
