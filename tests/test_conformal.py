"""Operating points that hold on new images: the Clopper-Pearson threshold rule, its refusal,
class-conditional conformal prediction sets, and their metadata, CLI and report paths."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

import xaixray
from xaixray import DataError, ModelError
from xaixray.cli import main
from xaixray.evaluation import choose_threshold, confident_threshold, fit_conformal, set_summary
from xaixray.evaluation.calibration import images_needed, lower_bounds
from xaixray.evaluation.conformal import class_quantile
from xaixray.evaluation.metrics import threshold_for_sensitivity
from xaixray.prediction_sets import prediction_sets, set_label

# 100 positives scoring 0.01, 0.02, ..., 1.00 and 100 negatives likewise (shuffled)
RNG = np.random.default_rng(3)
SCORES = RNG.permutation(np.arange(1, 101) / 100)
Y = np.r_[np.zeros(100, int), np.ones(100, int)]
P = np.r_[RNG.permutation(SCORES), SCORES]


# ---------------------------------------------------------------- Clopper-Pearson thresholds
def test_clopper_pearson_bounds_are_scipys_exact_binomial_bounds():
    low = lower_bounds(119, 0.95)
    for x in (1, 60, 113, 118, 119):
        ci = stats.binomtest(x, 119, alternative="greater").proportion_ci(0.95, method="exact")
        assert low[x - 1] == pytest.approx(ci.low, abs=1e-9)


def test_clopper_pearson_threshold_on_hand_made_scores():
    # 100 positives: the exact one-sided 95% lower bound is 0.9534 with 99 of them called
    # positive and 0.9277 with 98, so one miss is allowed: the threshold is the 2nd lowest, 0.02
    t, promise = confident_threshold(Y, P, "sensitivity", 0.95, 0.95)
    assert t == pytest.approx(0.02) and promise["kept"] == 99 and promise["n"] == 100
    assert promise["lower_bound"] == pytest.approx(0.95344, abs=1e-5)
    # the old rule, "95% of these positives", allows five misses: 0.06
    assert choose_threshold(Y, P, "sensitivity", 0.95, method="empirical")[0] == \
        pytest.approx(0.06)
    assert threshold_for_sensitivity(Y, P, 0.95) == pytest.approx(0.06)
    # 59 positives: every one must be called positive (0.95 ** 59 < 0.05 < 0.95 ** 58)
    t59, promise59 = confident_threshold(Y[:159], P[:159], "sensitivity", 0.95, 0.95)
    assert t59 == pytest.approx(P[100:159].min()) and promise59["kept"] == 59
    # specificity, the mirror image: 99 of 100 negatives below the threshold, just above 0.99
    ts, _ = confident_threshold(Y, P, "specificity", 0.95, 0.95)
    assert 0.99 < ts < 0.99 + 1e-12 and (P[Y == 0] < ts).sum() == 99
    # a lower confidence allows more misses: at 50%, 0.95 of 100 needs 96 called positive
    assert confident_threshold(Y, P, "sensitivity", 0.95, 0.50)[0] == pytest.approx(0.05)
    assert "Clopper-Pearson" in choose_threshold(Y, P, "sensitivity", 0.95)[1]


def test_an_impossible_promise_is_refused_saying_how_many_positives_it_needs():
    assert images_needed(0.95, 0.95) == 59 and images_needed(0.90, 0.95) == 29
    assert images_needed(1.0) is None
    y, p = np.r_[np.zeros(30, int), np.ones(20, int)], np.linspace(0, 1, 50)
    with pytest.raises(DataError, match=r"from 20 PNEUMONIA images: that needs at least 59"):
        confident_threshold(y, p, "sensitivity", 0.95, 0.95)
    with pytest.raises(DataError, match="no finite set can promise 1.0"):
        confident_threshold(Y, P, "sensitivity", 1.0, 0.95)
    # 58 positives are one too few, 59 enough
    with pytest.raises(DataError, match="needs at least 59"):
        confident_threshold(Y[:158], P[:158], "sensitivity", 0.95, 0.95)


def test_scores_saturated_at_the_threshold_limits_are_refused_not_promised():
    # 100 negatives, 60 of them scoring 1 - 1e-7: the 99 that must score below a specificity
    # threshold include saturated ones, and no threshold (at most 1 - 1e-6) is above them
    neg = np.r_[np.linspace(0.1, 0.5, 40), np.full(60, 1 - 1e-7)]
    y, p = np.r_[np.zeros(100, int), np.ones(100, int)], np.r_[neg, np.full(100, 0.9)]
    with pytest.raises(DataError, match=r"cannot be promised from these 100 NORMAL images: "
                                        r"99 of them must score below the threshold") as err:
        confident_threshold(y, p, "specificity", 0.95, 0.95)
    assert "\n" not in str(err.value) and "saturated near 1" in str(err.value)
    # the mirror image: positives scoring exactly 0 cannot be at or above any threshold (> 0)
    y, p = np.r_[np.zeros(100, int), np.ones(100, int)], np.r_[np.full(100, 0.1), np.zeros(100)]
    with pytest.raises(DataError, match=r"99 of them must score at or above the threshold"):
        confident_threshold(y, p, "sensitivity", 0.95, 0.95)


def test_the_promised_sensitivity_holds_for_new_images_in_at_least_95_percent_of_sets():
    # 1000 calibration sets of 119 positives from one score distribution; each threshold's
    # sensitivity on new images of that distribution is computed exactly (Beta survival
    # function: the limit of ever larger fresh samples). The rule's success rate is exactly
    # P(Binomial(119, 0.05) >= 2) = 0.984 for continuous scores; 1000 repeats put 0.95 more
    # than 10 standard errors (0.004) below it, so the test does not flake. The old empirical
    # rule, for contrast, keeps its promise only about half the time.
    rng = np.random.default_rng(0)
    positives = stats.beta(5, 2)
    y = np.ones(119, int)
    kept, empirical = [], []
    for _ in range(1000):
        p = positives.rvs(119, random_state=rng)
        kept.append(positives.sf(confident_threshold(y, p, "sensitivity", 0.95, 0.95)[0]))
        empirical.append(positives.sf(threshold_for_sensitivity(y, p, 0.95)))
    assert np.mean(np.array(kept) >= 0.95) >= 0.95
    assert np.mean(np.array(empirical) >= 0.95) < 0.8


# ---------------------------------------------------------------- conformal prediction sets
def test_class_quantile_uses_the_finite_sample_correction():
    s = np.arange(1, 40) / 40  # 39 scores 0.025 ... 0.975
    # n = 39: k = ceil(40 * 0.95) = 38, the 38th smallest; n = 40: k = ceil(41 * 0.95) = 39
    # (without the correction, ceil(40 * 0.95) = 38, the 38th of 40)
    assert class_quantile(s, 0.05) == pytest.approx(38 / 40)
    assert class_quantile(np.arange(1, 41) / 41, 0.05) == pytest.approx(39 / 41)
    assert class_quantile(np.arange(1, 20) / 20, 0.05) == pytest.approx(19 / 20)  # n = 19: max
    assert class_quantile(np.arange(1, 19) / 19, 0.05) == 1.0  # n = 18: too few, always in


def test_conformal_coverage_holds_for_each_class_on_exchangeable_data():
    # NORMAL: few (40) and hard (p(PNEUMONIA) ~ Beta(2, 3)); PNEUMONIA: many (150) and easy
    # (~ Beta(6, 1.5)). Coverage of each class given a calibration set is exact from the Beta
    # CDFs; averaged over 400 calibration sets it is ceil((n+1)(1-alpha))/(n+1): 0.9512 for
    # NORMAL, 0.9536 for PNEUMONIA, with a standard error of about 0.002. Without the (n + 1)
    # correction NORMAL would get 38/41 = 0.927.
    rng = np.random.default_rng(1)
    normal, pneumonia = stats.beta(2, 3), stats.beta(6, 1.5)
    names = ("NORMAL", "PNEUMONIA")
    y = np.r_[np.zeros(40, int), np.ones(150, int)]
    cover = {"NORMAL": [], "PNEUMONIA": []}
    for _ in range(400):
        p = np.r_[normal.rvs(40, random_state=rng), pneumonia.rvs(150, random_state=rng)]
        q = fit_conformal(y, np.stack([1 - p, p], axis=1), 0.05, names)["quantiles"]
        # NORMAL is in the set when 1 - p(NORMAL) = p <= q; PNEUMONIA when 1 - p <= q
        cover["NORMAL"].append(normal.cdf(q["NORMAL"]))
        cover["PNEUMONIA"].append(pneumonia.sf(1 - q["PNEUMONIA"]))
    for name, n in (("NORMAL", 40), ("PNEUMONIA", 150)):
        mean = float(np.mean(cover[name]))
        assert 0.95 - 0.006 <= mean <= 0.95 + 1 / (n + 1) + 0.006, (name, mean)


def test_prediction_sets_and_their_labels():
    conformal = {"alpha": 0.05, "quantiles": {"NORMAL": 0.9, "PNEUMONIA": 0.3}}
    proba = np.array([[0.05, 0.95], [0.5, 0.5], [0.8, 0.2]])
    sets = prediction_sets(proba, conformal, ("NORMAL", "PNEUMONIA"))
    assert sets == [("PNEUMONIA",), ("NORMAL",), ("NORMAL",)]
    sets = prediction_sets(np.array([[0.2, 0.8]]), conformal, ("NORMAL", "PNEUMONIA"))
    assert sets == [("NORMAL", "PNEUMONIA")] and set_label(sets[0]) == "uncertain"
    assert set_label(()) .startswith("none") and set_label(("NORMAL",)) == "NORMAL"
    summary = set_summary([1, 0, 0], proba, conformal, ("NORMAL", "PNEUMONIA"))
    assert summary["coverage_by_class"] == {"NORMAL": 1.0, "PNEUMONIA": 1.0}
    assert summary["uncertain"] == 0.0
    with pytest.raises(ModelError, match="no conformal quantiles"):
        prediction_sets(proba, None, ("NORMAL", "PNEUMONIA"))


# ---------------------------------------------------------------- metadata, CLI, reports
def _class_folder(root, n_per_class: int):
    """DIR/{NORMAL,PNEUMONIA}/ of phantom images (the phantom generator's own labels)."""
    import cv2

    from xaixray.data import make_phantoms

    ph = make_phantoms(2 * n_per_class, 32, seed=11)
    for i, (image, label) in enumerate(zip(ph.images, ph.labels, strict=True)):
        folder = root / ("NORMAL", "PNEUMONIA")[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"case{i}.png"), image)
    return root


def test_calibrate_stores_the_promise_and_conformal_sets_and_they_round_trip(tiny_classifier,
                                                                             tmp_path):
    from xaixray.data import make_phantoms

    data = make_phantoms(140, 32, seed=5)  # 70 PNEUMONIA: enough for 0.95 at 95%
    calibrated = xaixray.calibrate(tiny_classifier, data, conformal=0.1)
    c = calibrated.info["calibration"]
    assert c["method"] == "clopper-pearson" and "Clopper-Pearson" in c["rule"]
    assert c["promise"]["kept"] >= 59 and c["promise"]["lower_bound"] >= 0.95
    assert c["promise"]["cost"]["measure"] == "specificity"
    assert c["promise"]["cost"]["low"] <= c["promise"]["cost"]["value"] <= \
        c["promise"]["cost"]["high"]
    conformal = calibrated.info["conformal"]
    assert conformal["alpha"] == 0.1 and set(conformal["quantiles"]) == {"NORMAL", "PNEUMONIA"}
    on = conformal["on_calibration_set"]
    assert all(v >= 0.9 for v in on["coverage_by_class"].values())
    back = xaixray.Classifier.load(calibrated.save(tmp_path / "cal.keras"))
    assert back.info["conformal"] == conformal and back.threshold == calibrated.threshold
    assert back.info["calibration"]["promise"] == c["promise"]
    assert back.predict_sets(data.images) == calibrated.predict_sets(data.images)
    with pytest.raises(ModelError, match="no conformal quantiles"):
        tiny_classifier.predict_sets(data.images[:2])
    # too few positives for the promise: refused, the empirical rule still works
    small = make_phantoms(40, 32, seed=5)
    with pytest.raises(DataError, match="needs at least 59"):
        xaixray.calibrate(tiny_classifier, small)
    assert xaixray.calibrate(tiny_classifier, small, method="empirical").info[
        "calibration"]["method"] == "empirical"


def test_calibrate_predict_and_evaluate_cli_give_sets(tiny_model_path, tmp_path, capsys):
    folder = _class_folder(tmp_path / "site", 70)
    out = tmp_path / "cal.keras"
    assert main(["calibrate", str(tiny_model_path), str(folder), "--out", str(out),
                 "--sensitivity", "0.95", "--confidence", "0.95", "--conformal", "0.1"]) == 0
    text = capsys.readouterr().out
    assert "promise: sensitivity >= 0.95 with 95% confidence" in text
    assert "cost: expected specificity" in text and "conformal sets (alpha 0.1" in text
    assert main(["predict", str(out), str(folder / "NORMAL"), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) > 0 and all(isinstance(r["prediction_set"], list) for r in rows)
    assert all(set(r["prediction_set"]) <= {"NORMAL", "PNEUMONIA"} for r in rows)
    assert main(["evaluate", str(out), str(folder)]) == 0
    text = capsys.readouterr().out
    assert "conformal prediction sets (alpha 0.1" in text and "coverage NORMAL" in text
    assert "uncertain" in text
    # a model without sets: the field is there, null
    assert main(["predict", str(tiny_model_path), str(folder / "NORMAL"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["prediction_set"] is None
    # too few positives: one line saying how many are needed, non-zero exit, no model written
    small = _class_folder(tmp_path / "small", 20)
    assert main(["calibrate", str(tiny_model_path), str(small), "--out",
                 str(tmp_path / "no.keras")]) == 1
    err = capsys.readouterr().err
    assert "needs at least 59 PNEUMONIA images" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "no.keras").exists()
    assert main(["calibrate", str(tiny_model_path), str(small), "--out",
                 str(tmp_path / "old.keras"), "--rule", "empirical"]) == 0


def test_reports_show_the_prediction_set(tiny_classifier):
    from xaixray.explainers import ExplanationSet
    from xaixray.reports import render_index_html, render_report_html, report_dict

    clf = xaixray.Classifier(tiny_classifier.model, tiny_classifier.preprocessing,
                             info={"conformal": {"alpha": 0.05, "quantiles": {
                                 "NORMAL": 0.9, "PNEUMONIA": 0.3}}})
    result = ExplanationSet(source="x.png", image=np.zeros((32, 32), np.uint8),
                            probabilities=np.array([0.2, 0.8]), prediction=1,
                            class_names=clf.class_names, model=clf.metadata())
    report = report_dict(result)
    assert report["prediction_set"] == {"classes": ["NORMAL", "PNEUMONIA"],
                                        "label": "uncertain", "alpha": 0.05}
    assert "Conformal prediction set: <b>{NORMAL, PNEUMONIA}</b> (<b>uncertain</b>)" in \
        render_report_html(report, None)
    index = render_index_html([{"link": "a/report.html", "source": "x.png", "prediction":
                                "PNEUMONIA", "prediction_set": "uncertain", "probability": 0.8,
                                "model": "tiny", "errors": {}}], [])
    assert "<td>uncertain</td>" in index
    plain = report_dict(ExplanationSet(source="x.png", image=np.zeros((32, 32), np.uint8),
                                       probabilities=np.array([0.2, 0.8]), prediction=1,
                                       class_names=clf.class_names,
                                       model=tiny_classifier.metadata()))
    assert plain["prediction_set"] is None


def test_the_bundled_model_carries_its_promise_and_its_sets():
    clf = xaixray.Classifier.load("default")
    promise = clf.info["calibration"]["promise"]
    assert promise["method"] == "clopper-pearson" and promise["lower_bound"] >= 0.95
    assert (promise["target"], promise["confidence"], promise["n"]) == (0.95, 0.95, 119)
    assert clf.info["conformal"]["alpha"] == 0.05 and clf.info["conformal"]["too_few"] == []
    assert clf.threshold == pytest.approx(0.603, abs=5e-4)
