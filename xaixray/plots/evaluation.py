"""Evaluation and training plots. Each function returns a Matplotlib ``Figure``; nothing is
written to disk here (:func:`xaixray.reports.save_figure` writes one)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_confusion_matrix(metrics: dict, title: str = "Confusion matrix"):
    """Confusion matrix with counts and row percentages."""
    cm = np.asarray(metrics["confusion_matrix"])
    names = metrics["class_names"]
    fig = _figure(4.2, 3.6)
    ax = fig.add_subplot()
    im = ax.imshow(cm, cmap="Blues")
    rows = cm.sum(axis=1, keepdims=True).clip(min=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            dark = cm[i, j] > cm.max() / 2
            ax.text(j, i, f"{cm[i, j]}\n{cm[i, j] / rows[i, 0]:.1%}", ha="center", va="center",
                    color="white" if dark else "black")
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    rule = (f"threshold {metrics['threshold']:.2f}" if metrics.get("threshold") is not None
            else metrics.get("decision", "arg-max"))
    ax.set_title(f"{title} ({rule})")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_roc(y_true: Sequence[int], p_positive: Sequence[float], threshold: float | None = None,
             title: str = "ROC curve", positive: int = 1):
    """ROC curve with its AUC, and the operating point at ``threshold``.

    ``positive`` is the label of the positive class in ``y_true``
    (:attr:`~xaixray.evaluation.Evaluation.positive`, the classifier's ``positive_index``).

    Raises
    ------
    DataError
        If ``y_true`` does not hold both classes: a ROC curve has no meaning then.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    y = (np.asarray(y_true) == positive).astype(int)  # 1 = the positive class
    p = np.asarray(p_positive)
    if len(np.unique(y)) < 2:
        raise DataError("a ROC curve and its AUC need images of both classes; these hold one")
    fpr, tpr, thr = roc_curve(y, p)
    fig = _figure(4.2, 4.0)
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, lw=2, label=f"AUC = {roc_auc_score(y, p):.4f}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    if threshold is not None:
        pred = p >= threshold
        op_tpr = pred[y == 1].mean() if (y == 1).any() else 0
        op_fpr = pred[y == 0].mean() if (y == 0).any() else 0
        ax.plot([op_fpr], [op_tpr], "o", color="crimson", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.set_aspect("equal")
    return fig


def plot_history(history: dict, title: str = "Training"):
    """Loss and accuracy curves (training and validation) from a Keras ``History.history``."""
    metrics = [m for m in ("loss", "accuracy") if m in history]
    fig = _figure(4.0 * max(len(metrics), 1), 3.4)
    axes = fig.subplots(1, max(len(metrics), 1), squeeze=False)[0]
    for ax, m in zip(axes, metrics, strict=False):
        epochs = np.arange(1, len(history[m]) + 1)
        ax.plot(epochs, history[m], "o-", label="train")
        if f"val_{m}" in history:
            ax.plot(epochs, history[f"val_{m}"], "o-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.set_title(f"{title}: {m}")
        ax.legend()
        ax.grid(alpha=0.3)
    return fig


def plot_reliability(y_true: Sequence[int], p_positive: Sequence[float], n_bins: int = 10,
                     title: str = "Reliability"):
    """Reliability diagram: observed frequency of the positive class against mean predicted
    probability per bin (scikit-learn's ``calibration_curve``), with the diagonal of perfect
    calibration and a histogram of the probabilities."""
    from sklearn.calibration import calibration_curve

    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p_positive, dtype=float)
    frequency, confidence = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    fig = _figure(4.6, 5.2)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfectly calibrated")
    top.plot(confidence, frequency, marker="o", label="this model")
    top.set_ylabel("observed frequency of the positive class")
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    bottom.hist(p, bins=n_bins, range=(0, 1), color="0.5")
    bottom.set_xlabel("predicted probability of the positive class")
    bottom.set_ylabel("images")
    return fig
