"""Classification metrics for a binary NORMAL / PNEUMONIA classifier (scikit-learn based).

The positive class is found by name (``"PNEUMONIA"`` by default), never by position.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..labels import CLASS_NAMES, positive_index
from .conformal import format_set_summary


def compute_metrics(y_true: Sequence[int], p_positive: Sequence[float], threshold: float = 0.5,
                    class_names: Sequence[str] = CLASS_NAMES,
                    positive: int | str | None = None) -> dict:
    """Metrics at ``threshold`` on the probability of the positive class.

    Parameters
    ----------
    y_true
        Labels, as indices into ``class_names``.
    p_positive
        Probability of the positive class per image.
    threshold
        An image is called positive when its probability reaches it.
    class_names
        The two class names, in label order.
    positive
        The positive class, by name or index into ``class_names``; default ``"PNEUMONIA"``
        when present, else the last class (see :func:`xaixray.labels.positive_index`).

    Returns
    -------
    dict
        JSON-ready: ``n``, ``threshold``, ``positive_class``, ``accuracy``, ``precision``,
        ``recall`` (= ``sensitivity``, of the positive class; ``None`` without positive images),
        ``specificity`` (``None`` without negative images), ``f1``,
        ``roc_auc`` (``None`` when only one class is present), ``confusion_matrix`` (rows =
        true class, columns = predicted, in ``class_names`` order), ``classification_report``
        (scikit-learn's dict) and ``counts`` (``tp`` etc., positive = the positive class).
    """
    from sklearn import metrics as skm

    names = list(class_names)
    if len(names) != 2:
        raise ValueError(f"compute_metrics is for two classes, got {len(names)}")
    pos = positive_index(names, positive)
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p_positive, dtype=float)
    truth = (y == pos).astype(int)  # 1 = the positive class, whatever its index
    called = (p >= threshold).astype(int)
    pred = np.where(called == 1, pos, 1 - pos)
    tn, fp, fn, tp = (int(v) for v in skm.confusion_matrix(truth, called, labels=[0, 1]).ravel())
    both = len(np.unique(truth)) == 2
    # a rate of a class with no images is unknown, not 0: None ("n/a" in the table)
    sensitivity = float(tp / (tp + fn)) if tp + fn else None
    return {
        "n": int(len(y)),
        "threshold": float(threshold),
        "positive_class": names[pos],
        "accuracy": float(skm.accuracy_score(truth, called)),
        "precision": float(skm.precision_score(truth, called, zero_division=0)),
        "recall": sensitivity,
        "sensitivity": sensitivity,
        "specificity": float(tn / (tn + fp)) if tn + fp else None,
        "f1": float(skm.f1_score(truth, called, zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(truth, p)) if both else None,
        "confusion_matrix": skm.confusion_matrix(y, pred, labels=[0, 1]).tolist(),
        "class_names": names,
        "counts": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "classification_report": skm.classification_report(
            y, pred, labels=[0, 1], target_names=names, output_dict=True, zero_division=0),
    }


def threshold_for_sensitivity(y_true: Sequence[int], p_positive: Sequence[float],
                              sensitivity: float = 0.97, positive: int = 1) -> float:
    """The highest threshold whose sensitivity on ``(y_true, p_positive)`` is still at least
    ``sensitivity`` (a rule to fix before looking at test data).

    ``positive`` is the label of the positive class in ``y_true``
    (:attr:`xaixray.Classifier.positive_index` for labels in the model's class order).
    The threshold is kept inside (0, 1) without giving up any sensitivity: a saturated model's
    lowest positive scores can be far below 1e-6.
    """
    y = np.asarray(y_true, dtype=int)
    p = np.sort(np.asarray(p_positive, dtype=float)[y == positive])
    if len(p) == 0:
        return 0.5
    k = int(np.floor((1.0 - sensitivity) * len(p) + 1e-9))  # 1 - 0.8 is 0.19999...: no float miss
    return float(np.clip(p[k], np.finfo(np.float64).tiny, 1 - 1e-6))


def format_metrics(m: dict) -> str:
    """A plain-text table of the headline metrics and the confusion matrix."""
    if "per_class" in m:  # more than two classes
        from .multiclass import format_multiclass_metrics

        return format_multiclass_metrics(m)
    names = m["class_names"]
    pos = m.get("positive_class", names[positive_index(names)])
    other = next(c for c in names if c != pos)
    auc = "n/a (needs images of both classes)" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"

    def rate(key: str, of: str) -> str:
        value = m[key]
        return f"n/a (no {of} images)" if value is None else f"{value:.4f}   (recall of {of})"

    lines = [
        f"images       {m['n']}",
        f"threshold    {m['threshold']:.3f}   (on P({pos}))",
        f"accuracy     {m['accuracy']:.4f}",
        f"ROC AUC      {auc}",
        f"sensitivity  {rate('sensitivity', pos)}",
        f"specificity  {rate('specificity', other)}",
        f"precision    {m['precision']:.4f}",
        f"F1           {m['f1']:.4f}",
        "",
        "true / predicted".ljust(18) + f"{names[0]:>12}{names[1]:>12}",
    ]
    for i, row in enumerate(m["confusion_matrix"]):
        lines.append(f"{names[i]:<18}{row[0]:>12}{row[1]:>12}")
    if m.get("intervals"):
        lines += ["", "bootstrap 95% intervals at this threshold"]
        for key, iv in m["intervals"].items():
            lines.append(f"  {key:<12} {iv['value']:.3f}  ({iv['low']:.3f}-{iv['high']:.3f})")
    if m.get("ece") is not None:
        lines += ["", f"expected calibration error (10 bins)  {m['ece']:.4f}"]
    if m.get("conformal"):
        lines += ["", *format_set_summary(m["conformal"])]
    if m.get("thresholds_for_sensitivity"):
        lines += ["", "threshold that would meet a sensitivity here, and its specificity",
                  f"  {'sensitivity':>11} {'threshold':>10} {'specificity':>12}"]
        for row in m["thresholds_for_sensitivity"]:
            spec = "n/a" if row["specificity"] is None else f"{row['specificity']:.3f}"
            lines.append(f"  {row['sensitivity_target']:>11.2f} {row['threshold']:>10.4g} "
                         f"{spec:>12}")
    return "\n".join(lines)
