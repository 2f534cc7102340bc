"""Evaluation: predictions over a labelled set, metrics, tables and plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DataError
from .metrics import compute_metrics, format_metrics, threshold_for_sensitivity
from .plots import plot_confusion_matrix, plot_history, plot_roc, save_figure


def predict_set(classifier: Any, data: Any, labels: Sequence[int] | None = None,
                progress: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Probabilities for a labelled set.

    Parameters
    ----------
    data
        A Kaggle-layout folder (its ``test/`` split, else its class folders), an
        :class:`~xaixray.data.ImageSet`, :class:`~xaixray.data.Phantoms`, or images with
        ``labels``.

    Returns
    -------
    y_true, proba, failures
        Labels and ``(n, n_classes)`` probabilities of the readable images, and one line per
        unreadable image.
    """
    from ..data import ImageSet, Phantoms, decode_images, load_folder

    if isinstance(data, Phantoms):
        data, labels = list(data.images), data.labels
    elif not isinstance(data, ImageSet) and labels is None:
        data = load_folder(data, split="test")
    if isinstance(data, ImageSet):
        data, labels = data.paths, data.labels
    if labels is None or len(labels) != len(data):
        raise DataError("evaluation needs one label per image")
    x, ok, failures = decode_images(list(data), classifier.preprocessing, progress=progress)
    if len(x) == 0:
        raise DataError("no readable images to evaluate")
    proba = classifier.predict_proba_prepared(x.astype(np.float32) / 255.0)
    return np.asarray(labels, dtype=int)[ok], proba, failures


def evaluate(classifier: Any, data: Any, labels: Sequence[int] | None = None,
             threshold: float | None = None) -> dict:
    """Metrics of ``classifier`` on a labelled set (see :func:`predict_set` for data forms).

    The threshold defaults to the classifier's own.
    """
    y, proba, failures = predict_set(classifier, data, labels)
    m = compute_metrics(y, proba[:, 1], classifier.threshold if threshold is None else threshold,
                        classifier.class_names)
    m["unreadable"] = failures
    return m


__all__ = [
    "compute_metrics",
    "evaluate",
    "format_metrics",
    "plot_confusion_matrix",
    "plot_history",
    "plot_roc",
    "predict_set",
    "save_figure",
    "threshold_for_sensitivity",
]
