"""Class-conditional (Mondrian) split conformal prediction: fitting the per-class quantiles on a
labelled calibration set, and measuring coverage and the share of "uncertain" answers.

The recipe is Angelopoulos & Bates (2021), "A gentle introduction to conformal prediction",
applied per class (Vovk et al. 2005, "Algorithmic learning in a random world"): the score of an
image for class ``c`` is ``1 - p(c)``; for each class, ``q[c]`` is the
``ceil((n_c + 1)(1 - alpha)) / n_c`` empirical quantile of the scores of the ``n_c`` calibration
images of that class. A new image of class ``c`` exchangeable with them then has ``c`` in its
set (``1 - p(c) <= q[c]``) with probability at least ``1 - alpha``, for each class separately.
Applying the quantiles is :func:`xaixray.prediction_sets.prediction_sets`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DataError
from ..prediction_sets import UNCERTAIN, prediction_sets

METHOD = "split conformal, class-conditional (Mondrian); score 1 - p(class)"


def class_quantile(scores: Sequence[float], alpha: float) -> float:
    """The finite-sample-corrected ``1 - alpha`` quantile of one class's scores: the
    ``k = ceil((n + 1)(1 - alpha))``-th smallest; 1.0 (the class is always in the set) when
    ``k > n``, i.e. ``n < 1 / alpha - 1``."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    k = int(np.ceil((len(s) + 1) * (1.0 - alpha) - 1e-9))  # 40 * 0.95 is 38, not 38.000001
    return 1.0 if k > len(s) else float(s[k - 1])


def fit_conformal(y_true: Sequence[int], proba: np.ndarray, alpha: float,
                  class_names: Sequence[str]) -> dict[str, Any]:
    """Per-class conformal quantiles of ``1 - p(class)`` at miscoverage ``alpha``.

    Parameters
    ----------
    y_true
        Labels, indices into ``class_names``.
    proba
        ``(n, n_classes)`` probabilities of the calibration images (as the model will give
        them: after its temperature).
    alpha
        The miscoverage allowed per class, in (0, 1): 0.05 for sets holding the true class of
        at least 95% of the images of each class.

    Returns
    -------
    dict
        JSON-ready, for ``info["conformal"]``: ``method``, ``alpha``, ``quantiles``
        ({class: q}), ``counts`` ({class: n}) and ``too_few`` (classes with too few images for a
        quantile below 1, which are then always in the set).
    """
    if not 0.0 < alpha < 1.0:
        raise DataError(f"the conformal alpha must be in (0, 1), got {alpha}")
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(proba, dtype=np.float64)
    quantiles, counts = {}, {}
    for i, name in enumerate(class_names):
        quantiles[name] = class_quantile(1.0 - p[y == i, i], alpha)
        counts[name] = int((y == i).sum())
    too_few = [c for c in class_names if counts[c] < int(np.ceil(1.0 / alpha - 1.0))]
    return {"method": METHOD, "alpha": float(alpha), "quantiles": quantiles, "counts": counts,
            "too_few": too_few}


def set_summary(y_true: Sequence[int], proba: np.ndarray, conformal: dict[str, Any],
                class_names: Sequence[str]) -> dict[str, Any]:
    """How conformal sets did on a labelled set.

    Returns
    -------
    dict
        ``alpha``; ``coverage`` (share of images whose set holds their class) overall and
        ``coverage_by_class``; ``uncertain`` (share of sets with two or more classes), ``empty``
        (share of empty sets), ``uncertain_by_class``; ``n``.
    """
    y = np.asarray(y_true, dtype=int)
    sets = prediction_sets(proba, conformal, class_names)
    names = list(class_names)
    covered = np.array([names[k] in s for k, s in zip(y, sets)])
    size = np.array([len(s) for s in sets])

    def share(mask: np.ndarray) -> float | None:
        return float(mask.mean()) if mask.size else None

    return {
        "alpha": conformal.get("alpha"),
        "n": int(len(y)),
        "coverage": share(covered),
        "coverage_by_class": {c: share(covered[y == i]) for i, c in enumerate(names)},
        UNCERTAIN: share(size >= 2),
        "uncertain_by_class": {c: share(size[y == i] >= 2) for i, c in enumerate(names)},
        "empty": share(size == 0),
    }



def format_set_summary(summary: dict[str, Any]) -> list[str]:
    """Text lines of a :func:`set_summary`: the share of uncertain and empty sets, and the
    coverage and share of uncertain sets per class (for the metrics tables)."""
    c = summary
    several = "both classes" if len(c["coverage_by_class"]) == 2 else "two or more classes"
    lines = [f"conformal prediction sets (alpha {c['alpha']:g}; coverage target "
             f"{1 - c['alpha']:.2f} per class)",
             f"  uncertain ({several})  {c['uncertain']:.3f}   empty  {c['empty']:.3f}"]
    for name, cov in c["coverage_by_class"].items():
        if cov is not None:
            lines.append(f"  coverage {name:<12} {cov:.3f}   uncertain "
                         f"{c['uncertain_by_class'][name]:.3f}")
    return lines
