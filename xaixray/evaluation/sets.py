"""Predictions over a labelled set, and the metrics of a classifier on it."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import display
from ..classifier import Classifier
from ..data import ImageSet, Phantoms, decode_images, folder_classes, load_folder, relabel
from ..errors import DataError, ModelError
from ..labels import CLASS_NAMES
from .calibration import expected_calibration_error, operating_point, thresholds_for_sensitivities
from .conformal import set_summary
from .metrics import compute_metrics
from .multiclass import compute_multiclass_metrics


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
    positive
        Index of the positive class (:attr:`~xaixray.Classifier.positive_index`) in ``proba``
        and ``y_true``.
    """

    metrics: dict
    y_true: np.ndarray = field(repr=False)
    proba: np.ndarray = field(repr=False)
    failures: list[str] = field(default_factory=list)
    positive: int = 1

    @property
    def both_classes(self) -> bool:
        """Whether the readable images hold both classes (ROC AUC and ROC curves need them)."""
        return len(np.unique(self.y_true)) >= 2

    @property
    def p_positive(self) -> np.ndarray:
        """Probability of the positive class per image."""
        return self.proba[:, self.positive]

    def _repr_html_(self) -> str | None:
        """In a notebook: the headline metrics, the confusion matrix and the ROC curve."""
        return display.html(self)


def describe_data(data: Any) -> str:
    """A short name for a labelled set: its folder, else its type (``"Phantoms"``, ...)."""
    if isinstance(data, ImageSet) and data.root is not None:
        return str(data.root)
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        return str(data)
    return type(data).__name__


def predict_set(classifier: Classifier, data: Any, labels: Sequence[int] | None = None,
                progress: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Probabilities for a labelled set.

    Parameters
    ----------
    data
        A Kaggle-layout folder (its ``test/`` split, else its class folders), an
        :class:`~xaixray.data.ImageSet`, :class:`~xaixray.data.Phantoms`, or images with
        ``labels`` (indices into ``classifier.class_names``). Folders, image sets and phantoms
        are matched to the classifier's classes by name.

    Returns
    -------
    y_true, proba, failures
        Labels (indices into ``classifier.class_names``: a folder's or ``ImageSet``'s classes
        are matched to the model's by name) and ``(n, n_classes)`` probabilities of the readable
        images, and one line per unreadable image.
    """
    if isinstance(data, Phantoms):
        data, labels = list(data.images), relabel(data.labels, CLASS_NAMES,
                                                  classifier.class_names)
    elif not isinstance(data, ImageSet) and labels is None:
        data = load_folder(data, split="test", class_names=folder_classes(classifier.class_names))
    if isinstance(data, ImageSet):
        data = data.relabel(classifier.class_names)
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

    The threshold defaults to the classifier's own. With more than two classes the metrics are
    :func:`~xaixray.evaluation.multiclass.compute_multiclass_metrics` (per class, the confusion
    matrix, one-vs-rest ROC AUCs) at the classifier's decisions (at ``threshold`` for a
    one-vs-rest classifier; an arg-max one refuses a threshold with a ``ModelError``).
    Unreadable images are skipped and listed in ``failures`` (and in ``metrics["unreadable"]``).
    For two classes, besides :func:`compute_metrics`, the metrics hold the expected calibration
    error, bootstrap 95% intervals of sensitivity, specificity and accuracy, and what threshold
    would meet each of several sensitivities on this set (see :func:`calibration_report`). For a
    model with conformal quantiles, whatever its classes, they hold ``conformal`` (coverage per
    class and the share of "uncertain" sets, :func:`set_summary`).

    Examples
    --------
    >>> result = evaluate(clf, "chest_xray")                         # doctest: +SKIP
    >>> print(format_metrics(result.metrics))                        # doctest: +SKIP
    """
    n_classes = len(classifier.class_names)
    if threshold is not None and not 0.0 < float(threshold) < 1.0:
        raise ModelError(f"threshold must be in (0, 1), got {threshold}")
    if n_classes > 2 and threshold is not None:
        if not classifier.one_vs_rest:
            raise ModelError(f"a threshold needs a positive class for a model with {n_classes} "
                             f"classes ({', '.join(classifier.class_names)}): name one "
                             "(positive_class=, --positive) to decide one-vs-rest, or leave "
                             "the threshold out for the arg-max")
        classifier = copy.copy(classifier)  # the decision at this threshold; the model shared
        classifier.threshold = float(threshold)
    y, proba, failures = predict_set(classifier, data, labels, progress=progress)
    pos = classifier.positive_index
    if n_classes > 2:  # per class, one-vs-rest; no threshold unless named
        m = compute_multiclass_metrics(y, proba, classifier.decide(proba),
                                       classifier.class_names)
        m["decision"] = classifier.decision_rule()
    else:
        t = classifier.threshold if threshold is None else threshold
        m = compute_metrics(y, proba[:, pos], t, classifier.class_names, positive=pos)
        m.update(calibration_report((y == pos).astype(int), proba[:, pos], t))
    conformal = classifier.info.get("conformal")
    if conformal:
        m["conformal"] = set_summary(y, proba, conformal, classifier.class_names)
    m["unreadable"] = failures
    return Evaluation(m, y, proba, failures, pos)


def calibration_report(is_positive: np.ndarray, p_positive: np.ndarray, threshold: float) -> dict:
    """``ece``; with both classes, bootstrap 95% ``intervals`` of sensitivity, specificity and
    accuracy at ``threshold``; with positives, ``thresholds_for_sensitivity``.

    ``is_positive`` is 1 for images of the positive class, 0 for the others.
    """
    truth = np.asarray(is_positive, dtype=int)
    both = len(np.unique(truth)) == 2
    return {
        "ece": expected_calibration_error(truth, p_positive),
        "intervals": {k: v.to_dict() for k, v in
                      operating_point(truth, p_positive, threshold).items()} if both else None,
        "thresholds_for_sensitivity": thresholds_for_sensitivities(truth, p_positive)
        if (truth == 1).any() else None,
    }
