"""Classification metrics for a binary NORMAL / PNEUMONIA classifier (scikit-learn based)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..labels import CLASS_NAMES


def compute_metrics(y_true: Sequence[int], p_positive: Sequence[float], threshold: float = 0.5,
                    class_names: Sequence[str] = CLASS_NAMES) -> dict:
    """Metrics at ``threshold`` on the probability of the positive class (index 1).

    Returns a JSON-ready dict: ``n``, ``threshold``, ``accuracy``, ``precision``, ``recall``
    (= ``sensitivity``), ``specificity``, ``f1``, ``roc_auc`` (``None`` when only one class is
    present), ``confusion_matrix`` (rows = true class, columns = predicted, in ``class_names``
    order), ``classification_report`` (scikit-learn's dict) and ``counts``.
    """
    from sklearn import metrics as skm

    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p_positive, dtype=float)
    pred = (p >= threshold).astype(int)
    cm = skm.confusion_matrix(y, pred, labels=[0, 1])
    tn, fp, fn, tp = (int(v) for v in cm.ravel())
    both = len(np.unique(y)) == 2
    return {
        "n": int(len(y)),
        "threshold": float(threshold),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        "sensitivity": float(skm.recall_score(y, pred, zero_division=0)),
        "specificity": float(tn / (tn + fp)) if tn + fp else 0.0,
        "f1": float(skm.f1_score(y, pred, zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(y, p)) if both else None,
        "confusion_matrix": cm.tolist(),
        "class_names": list(class_names),
        "counts": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "classification_report": skm.classification_report(
            y, pred, labels=[0, 1], target_names=list(class_names), output_dict=True,
            zero_division=0),
    }


def threshold_for_sensitivity(y_true: Sequence[int], p_positive: Sequence[float],
                              sensitivity: float = 0.97) -> float:
    """The highest threshold whose sensitivity on ``(y_true, p_positive)`` is still at least
    ``sensitivity`` (a rule to fix before looking at test data).

    The threshold is kept inside (0, 1) without giving up any sensitivity: a saturated model's
    lowest positive scores can be far below 1e-6.
    """
    y = np.asarray(y_true, dtype=int)
    p = np.sort(np.asarray(p_positive, dtype=float)[y == 1])
    if len(p) == 0:
        return 0.5
    k = int(np.floor((1.0 - sensitivity) * len(p)))
    return float(np.clip(p[k], np.finfo(np.float64).tiny, 1 - 1e-6))


def format_metrics(m: dict) -> str:
    """A plain-text table of the headline metrics and the confusion matrix."""
    names = m["class_names"]
    auc = "n/a (needs images of both classes)" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
    lines = [
        f"images       {m['n']}",
        f"threshold    {m['threshold']:.3f}",
        f"accuracy     {m['accuracy']:.4f}",
        f"ROC AUC      {auc}",
        f"sensitivity  {m['sensitivity']:.4f}   (recall of {names[1]})",
        f"specificity  {m['specificity']:.4f}   (recall of {names[0]})",
        f"precision    {m['precision']:.4f}",
        f"F1           {m['f1']:.4f}",
        "",
        "true / predicted".ljust(18) + f"{names[0]:>12}{names[1]:>12}",
    ]
    for i, row in enumerate(m["confusion_matrix"]):
        lines.append(f"{names[i]:<18}{row[0]:>12}{row[1]:>12}")
    return "\n".join(lines)
