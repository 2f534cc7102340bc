"""Predictions over a labelled set, and the metrics of a classifier on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..classifier import Classifier
from ..data import ImageSet, Phantoms, decode_images, load_folder
from ..errors import DataError
from .calibration import expected_calibration_error, operating_point, thresholds_for_sensitivities
from .metrics import compute_metrics


@dataclass
class Evaluation:
    """A classifier's results on a labelled set.

    Attributes
    ----------
    metrics
        :func:`compute_metrics` at the threshold used, plus ``unreadable`` (the failures).
    y_true
        Labels of the readable images.
    proba
        ``(n, n_classes)`` probabilities of the readable images.
    failures
        One line per image that could not be read.
    """

    metrics: dict
    y_true: np.ndarray = field(repr=False)
    proba: np.ndarray = field(repr=False)
    failures: list[str] = field(default_factory=list)

    @property
    def p_positive(self) -> np.ndarray:
        """Probability of the positive class (index 1) per image."""
        return self.proba[:, 1]


def predict_set(classifier: Classifier, data: Any, labels: Sequence[int] | None = None,
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


def evaluate(classifier: Classifier, data: Any, labels: Sequence[int] | None = None,
             threshold: float | None = None, progress: bool = False) -> Evaluation:
    """Metrics of ``classifier`` on a labelled set (see :func:`predict_set` for data forms).

    The threshold defaults to the classifier's own. Besides :func:`compute_metrics`, the metrics
    hold the expected calibration error, bootstrap 95% intervals of sensitivity, specificity and
    accuracy, and what threshold would meet each of several sensitivities on this set (see
    :func:`calibration_report`). Unreadable images are skipped and listed in
    ``failures`` (and in ``metrics["unreadable"]``).

    Examples
    --------
    >>> result = evaluate(clf, "chest_xray")                         # doctest: +SKIP
    >>> print(format_metrics(result.metrics))                        # doctest: +SKIP
    """
    y, proba, failures = predict_set(classifier, data, labels, progress=progress)
    t = classifier.threshold if threshold is None else threshold
    m = compute_metrics(y, proba[:, 1], t, classifier.class_names)
    m.update(calibration_report(y, proba[:, 1], t))
    m["unreadable"] = failures
    return Evaluation(m, y, proba, failures)


def calibration_report(y_true: np.ndarray, p_positive: np.ndarray, threshold: float) -> dict:
    """``ece``; with both classes, bootstrap 95% ``intervals`` of sensitivity, specificity and
    accuracy at ``threshold``; with positives, ``thresholds_for_sensitivity``."""
    both = len(np.unique(y_true)) == 2
    return {
        "ece": expected_calibration_error(y_true, p_positive),
        "intervals": {k: v.to_dict() for k, v in
                      operating_point(y_true, p_positive, threshold).items()} if both else None,
        "thresholds_for_sensitivity": thresholds_for_sensitivities(y_true, p_positive)
        if (np.asarray(y_true) == 1).any() else None,
    }
