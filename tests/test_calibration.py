"""Site calibration: threshold rules, temperature scaling, intervals, and what is refused."""

from __future__ import annotations

import numpy as np
import pytest

import xaixray
from xaixray import DataError
from xaixray.cli import main
from xaixray.data import make_phantoms
from xaixray.evaluation import choose_threshold, fit_temperature, operating_point
from xaixray.evaluation.calibration import (
    apply_temperature,
    expected_calibration_error,
    threshold_for_specificity,
    youden_threshold,
)

Y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
P = np.array([0.05, 0.20, 0.30, 0.45, 0.70, 0.40, 0.60, 0.80, 0.90, 0.95])


def test_threshold_rules_on_hand_made_scores():
    # sensitivity >= 0.8 on this set: 4 of the 5 positives must be >= t -> the highest is 0.60
    assert choose_threshold(Y, P, "sensitivity", 0.8, method="empirical")[0] == \
        pytest.approx(0.60)
    # specificity >= 0.8: 4 of the 5 negatives must be < t -> just above 0.45
    t = threshold_for_specificity(Y, P, 0.8)
    assert 0.45 < t < 0.45 + 1e-12
    assert ((P[Y == 0] < t).mean(), (P[Y == 1] >= t).mean()) == (0.8, 0.8)
    # Youden: J = sens + spec - 1 is largest (0.6) at t = 0.60 (sens 0.8, spec 0.8)
    assert youden_threshold(Y, P) == pytest.approx(0.60)
    assert "Youden" in choose_threshold(Y, P, "youden")[1]
    with pytest.raises(DataError, match="unknown threshold rule"):
        choose_threshold(Y, P, "accuracy", 0.9)


def test_temperature_scaling_lowers_the_nll_of_an_overconfident_model():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 1.5, 2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-true_logit))).astype(int)
    overconfident = 1 / (1 + np.exp(-4.0 * true_logit))  # logits 4x too large
    t = fit_temperature(y, overconfident)
    assert t == pytest.approx(4.0, rel=0.15)
    assert log_loss(y, apply_temperature(overconfident, t)) < log_loss(y, overconfident) - 0.05
    assert expected_calibration_error(y, apply_temperature(overconfident, t)) < \
        expected_calibration_error(y, overconfident)


def test_classifier_temperature_rescales_probabilities(tiny_classifier):
    images = make_phantoms(6, 32, seed=4).images
    p = tiny_classifier.predict_proba(images)[:, 1]
    hot = xaixray.Classifier(tiny_classifier.model, tiny_classifier.preprocessing,
                             temperature=3.0)
    np.testing.assert_allclose(hot.predict_proba(images)[:, 1], apply_temperature(p, 3.0),
                               atol=1e-5)


def test_operating_point_intervals_contain_the_estimate():
    y = np.repeat([0, 1], 50)
    p = np.r_[np.linspace(0, 0.6, 50), np.linspace(0.4, 1, 50)]
    ops = operating_point(y, p, 0.5, n_resamples=500)
    for iv in ops.values():
        assert 0 <= iv.low <= iv.value <= iv.high <= 1 and iv.high > iv.low


def test_calibrate_writes_a_new_model_with_its_rule_and_reads_back(tiny_classifier, tmp_path):
    data = make_phantoms(40, 32, seed=5)
    calibrated = xaixray.calibrate(tiny_classifier, data, "sensitivity", 0.9, temperature=True,
                                   method="empirical")
    assert tiny_classifier.threshold == 0.5 and tiny_classifier.temperature == 1.0  # untouched
    c = calibrated.info["calibration"]
    assert c["n"] == 40 and c["counts"] == {"NORMAL": 20, "PNEUMONIA": 20}
    assert "sensitivity >= 0.9" in c["rule"] and c["metrics"]["sensitivity"] >= 0.9
    assert c["temperature"] == calibrated.temperature != 1.0
    path = calibrated.save(tmp_path / "calibrated.keras")
    back = xaixray.Classifier.load(path)
    assert (back.threshold, back.temperature) == (calibrated.threshold, calibrated.temperature)
    assert back.info["calibration"]["rule"] == c["rule"]
    np.testing.assert_allclose(back.predict_proba(data.images), calibrated.predict_proba(
        data.images), atol=1e-6)


@pytest.mark.parametrize("fraction, n, message", [(0.0, 40, "no PNEUMONIA images"),
                                                  (1.0, 40, "no NORMAL images"),
                                                  (0.5, 12, "too small")])
def test_calibrate_refuses_single_class_and_tiny_sets(tiny_classifier, fraction, n, message):
    data = make_phantoms(n, 32, pneumonia_fraction=fraction, seed=6)
    with pytest.raises(DataError, match=message):
        xaixray.calibrate(tiny_classifier, data)


def test_calibrate_cli_keeps_the_original_and_says_why_it_refuses(tiny_model_path, tmp_path,
                                                                  capsys):
    from conftest import write_phantom_folder

    saved_tiny, phantom_folder = tiny_model_path, write_phantom_folder(tmp_path / "set", 120, 32)
    before = saved_tiny.read_bytes()
    assert main(["calibrate", str(saved_tiny), str(phantom_folder), "--out",
                 str(saved_tiny)]) == 1
    assert "choose another --out" in capsys.readouterr().err
    out = tmp_path / "cal.keras"
    assert main(["calibrate", str(saved_tiny), str(phantom_folder), "--out", str(out),
                 "--youden"]) == 0
    assert "Youden" in capsys.readouterr().out and out.exists()
    assert saved_tiny.read_bytes() == before
    assert main(["calibrate", str(saved_tiny), str(phantom_folder), "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_ece_bins_like_scikit_learn_and_never_crash():
    # 0.5 sits on a bin edge: scikit-learn puts it in the lower bin, and so must the ECE
    assert expected_calibration_error([0, 1], [0.5, 0.55]) == pytest.approx((0.5 + 0.45) / 2)
    assert expected_calibration_error([0, 1, 1], [0.5, 0.55, 0.7]) == \
        pytest.approx((0.5 + 0.45 + 0.3) / 3)


def test_specificity_threshold_holds_on_float32_scores(tiny_classifier):
    rng = np.random.default_rng(1)
    p = rng.random(40).astype(np.float32)
    y = (rng.random(40) < 0.5).astype(int)
    t = threshold_for_specificity(y, p, 0.8)
    clf = xaixray.Classifier(tiny_classifier.model, tiny_classifier.preprocessing, threshold=t)
    called = clf.decide(np.stack([1 - p, p], axis=1))  # float32, as the model gives them
    assert (called[y == 0] == 0).mean() >= 0.8
