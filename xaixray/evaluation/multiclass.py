"""Metrics of a classifier with more than two classes (scikit-learn based).

Each class is scored one-vs-rest: its precision, recall and F1 at the predicted class, and the
ROC AUC of its probability against all the other classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .conformal import format_set_summary


def compute_multiclass_metrics(y_true: Sequence[int], proba: np.ndarray,
                               predicted: Sequence[int], class_names: Sequence[str]) -> dict:
    """Per-class metrics, the confusion matrix and one-vs-rest ROC AUCs.

    Parameters
    ----------
    y_true
        Labels, as indices into ``class_names``.
    proba
        ``(n, n_classes)`` probabilities.
    predicted
        The class each image is called (:meth:`xaixray.Classifier.decide`).
    class_names
        Class names in label order.

    Returns
    -------
    dict
        JSON-ready: ``n``, ``class_names``, ``decision`` (``"arg-max"`` or ``"one-vs-rest"``
        is the caller's), ``accuracy``, ``balanced_accuracy``, ``per_class`` (``{class:
        {n, precision, recall, f1, roc_auc}}``; ``roc_auc`` one-vs-rest, ``None`` when the set
        has no image of the class or only it), ``macro_roc_auc`` (mean of the known AUCs),
        ``confusion_matrix`` (rows = true class, columns = predicted) and
        ``classification_report`` (scikit-learn's dict).
    """
    from sklearn import metrics as skm

    names = [str(c) for c in class_names]
    labels = list(range(len(names)))
    y = np.asarray(y_true, dtype=int)
    pred = np.asarray(predicted, dtype=int)
    p = np.asarray(proba, dtype=float)
    report = skm.classification_report(y, pred, labels=labels, target_names=names,
                                       output_dict=True, zero_division=0)
    per_class = {}
    for k, name in enumerate(names):
        truth = (y == k).astype(int)
        auc = float(skm.roc_auc_score(truth, p[:, k])) if 0 < truth.sum() < len(y) else None
        per_class[name] = {"n": int(truth.sum()), "precision": float(report[name]["precision"]),
                           "recall": float(report[name]["recall"]),
                           "f1": float(report[name]["f1-score"]), "roc_auc": auc}
    aucs = [c["roc_auc"] for c in per_class.values() if c["roc_auc"] is not None]
    return {
        "n": int(len(y)),
        "class_names": names,
        "accuracy": float(skm.accuracy_score(y, pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)) if len(y) else None,
        "per_class": per_class,
        "macro_roc_auc": float(np.mean(aucs)) if aucs else None,
        "confusion_matrix": skm.confusion_matrix(y, pred, labels=labels).tolist(),
        "classification_report": report,
    }


def format_multiclass_metrics(m: dict) -> str:
    """A plain-text table: accuracy, one row per class, the confusion matrix and, for a model
    with conformal sets, their coverage."""
    names = m["class_names"]
    width = max(18, *(len(n) + 2 for n in names))

    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.4f}"

    lines = [f"images             {m['n']}",
             f"decision           {m.get('decision', 'arg-max')}",
             f"accuracy           {m['accuracy']:.4f}",
             f"balanced accuracy  {num(m['balanced_accuracy'])}",
             f"macro ROC AUC      {num(m['macro_roc_auc'])}   (one-vs-rest, mean over classes)",
             "",
             "class".ljust(width) + f"{'n':>6}{'precision':>11}{'recall':>9}{'F1':>9}"
             f"{'ROC AUC':>10}"]
    for name, c in m["per_class"].items():
        lines.append(f"{name:<{width}}{c['n']:>6}{c['precision']:>11.4f}{c['recall']:>9.4f}"
                     f"{c['f1']:>9.4f}{num(c['roc_auc']):>10}")
    lines += ["", "true / predicted".ljust(width) + "".join(f"{n:>12}" for n in names)]
    for i, row in enumerate(m["confusion_matrix"]):
        lines.append(f"{names[i]:<{width}}" + "".join(f"{v:>12}" for v in row))
    if m.get("conformal"):
        lines += ["", *format_set_summary(m["conformal"])]
    return "\n".join(lines)


__all__ = ["compute_multiclass_metrics", "format_multiclass_metrics"]
