"""Operating points and calibration on a labelled local set: thresholds, temperature, intervals.

A model validated on one site's images is rarely calibrated for another's. The remedy is a small
labelled set from the new site: choose the decision threshold on it by a rule stated in advance,
optionally rescale the probabilities (temperature scaling, Guo et al. 2017), and report the
operating point with bootstrap confidence intervals. Nothing here trains the model.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .metrics import threshold_for_sensitivity

MIN_PER_CLASS = 10
"""Fewest images of each class a threshold or temperature is chosen on."""

RULES = ("sensitivity", "specificity", "youden")

METHODS = ("clopper-pearson", "empirical")
"""How a sensitivity or specificity rule reads its target: ``"clopper-pearson"`` (the default),
the population rate is at least the target with the stated confidence; ``"empirical"``, the
rate on the calibration set itself is."""

DEFAULT_CONFIDENCE = 0.95


def check_calibration_set(is_positive: Sequence[int], min_per_class: int = MIN_PER_CLASS,
                          names: tuple[str, str] = ("NORMAL", "PNEUMONIA")) -> None:
    """Refuse sets that cannot support an operating point: one class only, or too few images.

    ``is_positive`` is 1 for images of the positive class (``names[1]``), else 0.

    Raises
    ------
    DataError
        With a one-line message saying what is missing.
    """
    y = np.asarray(is_positive, dtype=int)
    counts = {0: int((y == 0).sum()), 1: int((y == 1).sum())}
    if 0 in counts.values():
        missing = names[0] if counts[0] == 0 else names[1]
        raise DataError(f"the calibration set has no {missing} images; sensitivity and "
                        "specificity need both classes")
    if min(counts.values()) < min_per_class:
        raise DataError(f"the calibration set is too small ({counts[0]} {names[0]}, {counts[1]} "
                        f"{names[1]}); use at least {min_per_class} images of each class")


def threshold_for_specificity(y_true: Sequence[int], p_positive: Sequence[float],
                              specificity: float = 0.95) -> float:
    """The lowest threshold whose specificity on ``(y_true, p_positive)`` is at least
    ``specificity`` (the most sensitive operating point that keeps it)."""
    y = np.asarray(y_true, dtype=int)
    neg = np.sort(np.asarray(p_positive, dtype=float)[y == 0])
    if len(neg) == 0:
        return 0.5
    k = int(np.ceil(specificity * len(neg))) - 1  # k + 1 negatives must fall below
    if k < 0:
        return float(np.clip(neg[0], np.finfo(np.float64).tiny, 1 - 1e-6))
    return float(np.clip(np.nextafter(neg[min(k, len(neg) - 1)], 1.0),
                         np.finfo(np.float64).tiny, 1 - 1e-6))


def youden_threshold(y_true: Sequence[int], p_positive: Sequence[float]) -> float:
    """The threshold maximising Youden's J = sensitivity + specificity - 1 (scikit-learn's ROC)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(np.asarray(y_true, dtype=int), np.asarray(p_positive, float))
    best = int(np.argmax(tpr - fpr))
    return float(np.clip(thresholds[best], np.finfo(np.float64).tiny, 1 - 1e-6))


def lower_bounds(n: int, confidence: float) -> np.ndarray:
    """One-sided exact (Clopper–Pearson 1934) lower confidence bounds of a proportion, for
    ``x = 1..n`` successes out of ``n``: ``beta.ppf(1 - confidence, x, n - x + 1)``, the same
    bound as SciPy's ``binomtest(x, n, alternative="greater").proportion_ci(confidence,
    "exact").low``, for all ``x`` at once."""
    from scipy.stats import beta

    x = np.arange(1, n + 1)
    return beta.ppf(1.0 - confidence, x, n - x + 1)


def images_needed(target: float, confidence: float = DEFAULT_CONFIDENCE) -> int | None:
    """The fewest images of a class for which a rate >= ``target`` can be promised with
    ``confidence`` at all (every one of them on the right side of the threshold); ``None`` for
    ``target = 1``, which no finite set can promise."""
    from scipy.stats import beta

    if target >= 1.0:
        return None
    n = max(1, int(np.floor(np.log(1.0 - confidence) / np.log(target))))
    while beta.ppf(1.0 - confidence, n, 1) < target:  # all n of n: bound (1 - confidence)^(1/n)
        n += 1
    return n


def confident_threshold(y_true: Sequence[int], p_positive: Sequence[float], rule: str,
                        target: float, confidence: float = DEFAULT_CONFIDENCE,
                        names: tuple[str, str] = ("NORMAL", "PNEUMONIA")) -> tuple[float, dict]:
    """The threshold whose *population* sensitivity (or specificity) is at least ``target``
    with probability ``confidence``, from the calibration images of one class.

    For ``rule="sensitivity"``: the highest threshold such that the one-sided exact
    (Clopper–Pearson) lower bound on sensitivity, from the calibration positives called
    positive there, is at least ``target``. With ``t`` the ``k``-th lowest positive score this is
    also the distribution-free order-statistic rule: ``P(sensitivity(t) >= target) =
    P(Binomial(n, 1 - target) >= k)`` for continuous scores, so the promise holds in at least
    ``confidence`` of calibration sets of this size. ``rule="specificity"`` is the mirror image
    on the negatives (lowest threshold). The other class is not used, so its rate at the
    threshold is an honest estimate.

    Returns
    -------
    threshold, promise
        ``promise``: ``method``, ``measure``, ``target``, ``confidence``, ``n`` (images of the
        class), ``kept`` (of them on the right side of the threshold), ``lower_bound``.

    Raises
    ------
    DataError
        When no threshold can keep the promise with this many images of the class, saying how
        many are needed; or when one the promise counts on scores past every threshold a model
        can have (saturated scores: ``>= 1 - 1e-6`` for specificity, 0 for sensitivity).
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p_positive, dtype=float)
    cls = 1 if rule == "sensitivity" else 0
    scores = np.sort(p[y == cls])
    n = len(scores)
    low = lower_bounds(n, confidence) if n else np.zeros(0)
    ok = np.flatnonzero(low >= target)
    if not ok.size:
        needed = images_needed(target, confidence)
        need = ("no finite set can promise 1.0; lower the target" if needed is None
                else f"that needs at least {needed} {names[cls]} images")
        raise DataError(f"{rule} >= {target:g} with {confidence:.0%} confidence cannot be "
                        f"promised from {n} {names[cls]} images: {need} (or use the "
                        "'empirical' rule, which promises nothing beyond this set)")
    kept = int(ok[0]) + 1  # the fewest images of the class that must be on the right side
    lowest, highest = np.finfo(np.float64).tiny, 1 - 1e-6  # the thresholds a model can have
    if rule == "sensitivity":  # the `kept` highest positives score >= t
        edge = scores[n - kept]
        t = float(np.clip(edge, lowest, highest))
        wrong, side = edge < t, "at or above"
    else:  # the `kept` lowest negatives score < t
        edge = scores[kept - 1]
        t = float(np.clip(np.nextafter(edge, 1.0), lowest, highest))
        wrong, side = edge >= t, "below"
    if wrong:  # the threshold, clipped to its range, would put one of the `kept` on the wrong side
        raise DataError(f"{rule} >= {target:g} with {confidence:.0%} confidence cannot be "
                        f"promised from these {n} {names[cls]} images: {kept} of them must "
                        f"score {side} the threshold, but one scores {float(edge):.7g}, past "
                        f"every threshold in [{lowest:.3g}, {highest:g}]: the model's scores "
                        f"are saturated near {1 - cls}")
    return t, {"method": "clopper-pearson", "measure": rule, "target": float(target),
               "confidence": float(confidence), "n": n, "kept": kept,
               "lower_bound": float(low[kept - 1])}


def exact_interval(successes: int, n: int, confidence: float = 0.95) -> Interval | None:
    """A rate with its two-sided exact (Clopper–Pearson) interval, SciPy's ``binomtest``;
    ``None`` for ``n = 0``."""
    from scipy.stats import binomtest

    if n == 0:
        return None
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence,
                                                         method="exact")
    return Interval(successes / n, float(ci.low), float(ci.high))


def choose_threshold(y_true: Sequence[int], p_positive: Sequence[float], rule: str,
                     target: float | None = None, method: str = "clopper-pearson",
                     confidence: float = DEFAULT_CONFIDENCE,
                     names: tuple[str, str] = ("NORMAL", "PNEUMONIA")) -> tuple[float, str]:
    """Apply a threshold rule; returns the threshold and the rule in words.

    Parameters
    ----------
    rule
        ``"sensitivity"`` (highest threshold with sensitivity >= ``target``),
        ``"specificity"`` (lowest threshold with specificity >= ``target``) or ``"youden"``.
    target
        The sensitivity or specificity to keep (ignored by ``"youden"``).
    method
        ``"empirical"``: the target holds on this set; ``"clopper-pearson"``: it holds for the
        population with ``confidence`` (:func:`confident_threshold`). Ignored by ``"youden"``.
    names
        The negative and the positive class, as messages name them.
    """
    if rule == "youden":
        return youden_threshold(y_true, p_positive), "threshold maximising Youden's J"
    if rule not in RULES:
        raise DataError(f"unknown threshold rule {rule!r}; choose from {', '.join(RULES)}")
    if method not in METHODS:
        raise DataError(f"unknown threshold method {method!r}; choose from {', '.join(METHODS)}")
    if target is None or not 0.0 < target <= 1.0:
        raise DataError(f"the {rule} rule needs a target in (0, 1], got {target}")
    if method == "clopper-pearson":
        if not 0.0 < confidence < 1.0:
            raise DataError(f"the confidence must be in (0, 1), got {confidence}")
        t, _ = confident_threshold(y_true, p_positive, rule, target, confidence, names)
        side = "highest" if rule == "sensitivity" else "lowest"
        return t, (f"{side} threshold with population {rule} >= {target} at {confidence:.0%} "
                   "confidence (one-sided exact Clopper-Pearson bound)")
    if rule == "sensitivity":
        return (threshold_for_sensitivity(y_true, p_positive, target),
                f"highest threshold with sensitivity >= {target}")
    return (threshold_for_specificity(y_true, p_positive, target),
            f"lowest threshold with specificity >= {target}")


def log_odds(p_positive: Sequence[float]) -> np.ndarray:
    """``log(p / (1 - p))`` with ``p`` clipped away from 0 and 1."""
    p = np.clip(np.asarray(p_positive, dtype=float), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def fit_temperature(y_true: Sequence[int], p_positive: Sequence[float]) -> float:
    """The temperature ``T`` minimising the negative log-likelihood of ``sigmoid(logit(p) / T)``.

    One parameter, so the ranking (and the AUC) is unchanged; only the confidence moves.
    """
    from scipy.optimize import minimize_scalar
    from sklearn.metrics import log_loss

    y = np.asarray(y_true, dtype=int)
    z = log_odds(p_positive)

    def nll(log_t: float) -> float:
        return float(log_loss(y, 1.0 / (1.0 + np.exp(-z / np.exp(log_t))), labels=[0, 1]))

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(100.0)), method="bounded")
    return float(np.exp(result.x))


def apply_temperature(p_positive: Sequence[float], temperature: float) -> np.ndarray:
    """Probabilities of the positive class after temperature scaling."""
    return 1.0 / (1.0 + np.exp(-log_odds(p_positive) / float(temperature)))


def expected_calibration_error(y_true: Sequence[int], p_positive: Sequence[float],
                               n_bins: int = 10) -> float:
    """ECE: the bin-size-weighted mean gap between confidence and frequency.

    Equal-width bins on the probability of the positive class, assigned as scikit-learn's
    ``calibration_curve`` assigns them (the reliability diagram uses that function).
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(p_positive, dtype=float)
    if len(p) == 0:
        return 0.0
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], p)
    gap = 0.0
    for b in np.unique(bins):
        inside = bins == b
        gap += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return float(gap / len(p))


@dataclass(frozen=True)
class Interval:
    """A point estimate with a bootstrap 95% confidence interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} (95% CI {self.low:.3f}-{self.high:.3f})"

    def to_dict(self) -> dict[str, float]:
        """``{"value", "low", "high"}``."""
        return {"value": self.value, "low": self.low, "high": self.high}


def operating_point(y_true: Sequence[int], p_positive: Sequence[float], threshold: float,
                    n_resamples: int = 2000, seed: int = 0) -> dict[str, Interval]:
    """Sensitivity, specificity and accuracy at ``threshold`` with percentile bootstrap 95%
    intervals (SciPy's ``stats.bootstrap``, images resampled with their labels)."""
    from scipy.stats import bootstrap

    y = np.asarray(y_true, dtype=int)
    pred = (np.asarray(p_positive, dtype=float) >= threshold).astype(int)
    check_calibration_set(y, min_per_class=1)

    def rate(cls: int | None):
        def statistic(yy: np.ndarray, pp: np.ndarray, axis: int = -1) -> np.ndarray:
            hit = (pp == yy).astype(float)
            if cls is None:
                return hit.mean(axis=axis)
            mask = (yy == cls).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                return (hit * mask).sum(axis=axis) / mask.sum(axis=axis)
        return statistic

    out = {}
    for name, cls in (("sensitivity", 1), ("specificity", 0), ("accuracy", None)):
        stat = rate(cls)
        with warnings.catch_warnings():  # a perfect or constant rate has a degenerate interval
            warnings.simplefilter("ignore")
            res = bootstrap((y, pred), stat, paired=True, vectorized=True,
                            n_resamples=n_resamples, method="percentile",
                            random_state=np.random.default_rng(seed))
        low, high = res.confidence_interval
        out[name] = Interval(float(stat(y, pred)), float(np.nan_to_num(low)),
                             float(np.nan_to_num(high, nan=1.0)))
    return out


def thresholds_for_sensitivities(y_true: Sequence[int], p_positive: Sequence[float],
                                 sensitivities: Sequence[float] = (0.90, 0.95, 0.97, 0.99)
                                 ) -> list[dict[str, float]]:
    """What threshold would meet each sensitivity on this set, and the specificity it leaves."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p_positive, dtype=float)
    rows = []
    for target in sensitivities:
        t = threshold_for_sensitivity(y, p, target)
        pred = p >= t
        rows.append({"sensitivity_target": float(target), "threshold": t,
                     "sensitivity": float(pred[y == 1].mean()) if (y == 1).any() else None,
                     "specificity": float((~pred[y == 0]).mean()) if (y == 0).any() else None})
    return rows
