"""Class names and the positive class: what every layer agrees a label means."""

from __future__ import annotations

CLASS_NAMES: tuple[str, ...] = ("NORMAL", "PNEUMONIA")
"""The classes of the seed models, in output order."""

POSITIVE_CLASS = "PNEUMONIA"
"""The finding: sensitivity, thresholds and ROC curves are about this class."""

__all__ = ["CLASS_NAMES", "POSITIVE_CLASS"]
