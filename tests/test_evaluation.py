"""Metrics agree with scikit-learn and hand counts; plots are figures."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from xaixray.evaluation import (
    compute_metrics,
    evaluate,
    format_metrics,
    threshold_for_sensitivity,
)
from xaixray.plots import plot_confusion_matrix, plot_history, plot_roc

Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
P = np.array([0.1, 0.4, 0.6, 0.2, 0.9, 0.8, 0.3, 0.7, 0.55, 0.95])


def test_metrics_on_a_known_example():
    m = compute_metrics(Y, P, threshold=0.5)
    # predictions: 0 0 1 0 | 1 1 0 1 1 1 -> TN=3 FP=1 FN=1 TP=5
    assert m["counts"] == {"tn": 3, "fp": 1, "fn": 1, "tp": 5}
    assert m["confusion_matrix"] == [[3, 1], [1, 5]]
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["sensitivity"] == m["recall"] == pytest.approx(5 / 6)
    assert m["specificity"] == pytest.approx(3 / 4)
    assert m["precision"] == pytest.approx(5 / 6)
    assert m["f1"] == pytest.approx(5 / 6)
    # AUC by counting concordant pairs: 21 of 24 positive/negative pairs are ordered right
    assert m["roc_auc"] == pytest.approx(21 / 24)
    assert m["classification_report"]["NORMAL"]["recall"] == pytest.approx(0.75)
    assert "specificity" in format_metrics(m)


def test_metrics_match_scikit_learn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    m = compute_metrics(y, p, threshold=0.6)
    pred = p >= 0.6
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))


def test_single_class_has_no_auc_and_no_roc_curve():
    from xaixray.errors import DataError

    assert compute_metrics([1, 1], [0.7, 0.9])["roc_auc"] is None
    with pytest.raises(DataError, match="need images of both classes"):
        plot_roc([0, 0, 0], [0.1, 0.5, 0.9], 0.5)


def test_a_rate_of_a_class_without_images_is_unknown_not_zero():
    normal_only = compute_metrics([0, 0, 0], [0.1, 0.6, 0.2], threshold=0.5)
    assert normal_only["sensitivity"] is normal_only["recall"] is None
    assert normal_only["specificity"] == pytest.approx(2 / 3)
    text = format_metrics(normal_only)
    assert "sensitivity  n/a (no PNEUMONIA images)" in text
    assert "specificity  0.6667" in text
    pneumonia_only = compute_metrics([1, 1], [0.7, 0.3], threshold=0.5)
    assert pneumonia_only["specificity"] is None and pneumonia_only["sensitivity"] == 0.5
    assert "specificity  n/a (no NORMAL images)" in format_metrics(pneumonia_only)


def test_threshold_for_sensitivity():
    t = threshold_for_sensitivity(Y, P, 0.8)
    assert (P[Y == 1] >= t).mean() >= 0.8
    assert t == pytest.approx(0.55)
    # saturated scores: the rule still holds when the lowest positive score is below 1e-6
    tiny = np.array([0.01, 0.2, 3e-8, 0.9])
    t = threshold_for_sensitivity([0, 0, 1, 1], tiny, 1.0)
    assert 0 < t <= 3e-8


def test_plots_return_figures():
    m = compute_metrics(Y, P)
    for fig in (plot_confusion_matrix(m), plot_roc(Y, P, 0.5),
                plot_history({"loss": [1, 0.5], "val_loss": [1, 0.7], "accuracy": [0.5, 0.8]})):
        assert isinstance(fig, Figure)


def test_evaluate_classifier_on_phantom_folder(tiny_classifier, phantom_folder):
    result = evaluate(tiny_classifier, phantom_folder)
    m = result.metrics
    assert len(result.y_true) == len(result.p_positive) == 12 and not result.failures
    assert m["n"] == 12 and sum(map(sum, m["confusion_matrix"])) == 12


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5, -0.2])
def test_evaluate_refuses_a_threshold_outside_the_open_unit_interval(tiny_classifier,
                                                                    phantom_folder, threshold):
    from xaixray import ModelError

    with pytest.raises(ModelError, match=r"threshold must be in \(0, 1\)"):
        evaluate(tiny_classifier, phantom_folder, threshold=threshold)
