"""Figures (matplotlib, without pyplot): they are returned, never written."""

from .explanation import figure_to_png, plot_explanations

__all__ = ["figure_to_png", "plot_explanations"]
