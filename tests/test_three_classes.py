"""More than two classes end to end: NORMAL / BACTERIA / VIRAL."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xaixray.cli import main
from xaixray.data import load_folder, write_subtype_folder
from xaixray.evaluation.multiclass import compute_multiclass_metrics, format_multiclass_metrics
from xaixray.labels import SUBTYPE_CLASS_NAMES


@pytest.fixture(scope="module")
def subtype_folder(tmp_path_factory):
    return write_subtype_folder(tmp_path_factory.mktemp("subtypes"), n=96, size=32, seed=0)


def test_the_subtype_is_read_from_kaggle_file_names(subtype_folder):
    images = load_folder(subtype_folder, "train", SUBTYPE_CLASS_NAMES)
    assert images.class_names == SUBTYPE_CLASS_NAMES
    for path, label in zip(images.paths, images.labels, strict=True):
        expected = 0 if path.parent.name == "NORMAL" else (1 if "_bacteria_" in path.name else 2)
        assert label == expected
    assert images.counts()["BACTERIA"] > 0 and images.counts()["VIRAL"] > 0
    binary = load_folder(subtype_folder, "train")  # two classes: the folders, as before
    assert binary.counts()["PNEUMONIA"] == images.counts()["BACTERIA"] + images.counts()["VIRAL"]


def test_multiclass_metrics_per_class_and_one_vs_rest():
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.array([[.8, .1, .1], [.6, .3, .1], [.2, .7, .1], [.5, .4, .1], [.1, .2, .7],
                      [.1, .3, .6]])
    m = compute_multiclass_metrics(y, proba, proba.argmax(1), SUBTYPE_CLASS_NAMES)
    assert m["confusion_matrix"] == [[2, 0, 0], [1, 1, 0], [0, 0, 2]]
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert m["per_class"]["BACTERIA"]["recall"] == 0.5
    assert m["per_class"]["VIRAL"]["roc_auc"] == 1.0
    assert m["per_class"]["NORMAL"]["roc_auc"] == 1.0  # 0.6 > 0.5: still ranked first
    assert "BACTERIA" in format_multiclass_metrics(m)


def test_decision_is_arg_max_unless_a_positive_class_is_named():
    keras = pytest.importorskip("keras")
    from xaixray import Classifier

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    proba = np.array([[0.5, 0.2, 0.3], [0.1, 0.6, 0.3]])
    clf = Classifier.from_keras(model, class_names=SUBTYPE_CLASS_NAMES, scaling="unit")
    assert list(clf.decide(proba)) == [0, 1] and "arg-max" in clf.decision_rule()
    assert clf.metadata()["positive_class"] is None
    named = Classifier.from_keras(model, class_names=SUBTYPE_CLASS_NAMES, scaling="unit",
                                  positive_class="VIRAL", threshold=0.25)
    assert list(named.decide(proba)) == [2, 2] and "one-vs-rest" in named.decision_rule()
    named.threshold = 0.35
    assert list(named.decide(proba)) == [0, 1]  # below: the most probable other class


def test_train_evaluate_calibrate_explain_three_classes(subtype_folder, tmp_path, capsys):
    model = tmp_path / "subtypes.keras"
    assert main(["train", "--arch", "simple_cnn", "--data", str(subtype_folder), "--out",
                 str(model), "--classes", "3", "--channels", "1", "--input-size", "32",
                 "--epochs", "2", "--no-augment", "--batch-size", "16"]) == 0
    out = capsys.readouterr().out
    assert "BACTERIA" in out and "one-vs-rest ROC AUC" in out

    metrics = tmp_path / "m.json"
    assert main(["evaluate", str(model), str(subtype_folder), "--json", str(metrics),
                 "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "true / predicted" in out and "VIRAL" in out
    m = json.loads(metrics.read_text())
    assert m["class_names"] == list(SUBTYPE_CLASS_NAMES)
    assert np.asarray(m["confusion_matrix"]).shape == (3, 3)
    assert sum(map(sum, m["confusion_matrix"])) == m["n"] == 24
    assert set(m["per_class"]) == set(SUBTYPE_CLASS_NAMES)
    assert all(c["roc_auc"] is not None for c in m["per_class"].values())
    assert (tmp_path / "plots" / "confusion_matrix.png").exists()
    import xaixray

    html = xaixray.evaluate(xaixray.Classifier.load(model), subtype_folder)._repr_html_()
    assert "one-vs-rest AUC" in html and "VIRAL (n=" in html and "data:image/png" in html

    assert main(["calibrate", str(model), str(subtype_folder), "--out",
                 str(tmp_path / "c.keras")]) == 1
    err = capsys.readouterr().err.strip()
    assert "--positive" in err and "\n" not in err
    calibrated = tmp_path / "c.keras"  # one-vs-rest, on a set with enough of each side
    assert main(["calibrate", str(model), str(subtype_folder / "train"), "--out",
                 str(calibrated), "--positive", "VIRAL", "--sensitivity", "0.9"]) == 1
    err = capsys.readouterr().err.strip()  # too few positives for the 95%-confidence promise
    assert "from 25 VIRAL images" in err and "\n" not in err
    assert main(["calibrate", str(model), str(subtype_folder / "train"), "--out",
                 str(calibrated), "--positive", "VIRAL", "--sensitivity", "0.9",
                 "--rule", "empirical"]) == 0
    capsys.readouterr()
    from xaixray import Classifier

    clf = Classifier.load(calibrated)
    assert clf.one_vs_rest and clf.positive_class == "VIRAL"
    expected = load_folder(subtype_folder / "train", None, SUBTYPE_CLASS_NAMES).counts()
    assert clf.info["calibration"]["counts"] == expected
    assert "one-vs-rest" in clf.decision_rule()

    viral = next(p for p in sorted((subtype_folder / "test" / "PNEUMONIA").iterdir())
                 if "_virus_" in p.name)
    assert main(["explain", str(model), str(viral), "--methods", "gradcam", "--target", "VIRAL",
                 "--out", str(tmp_path / "x"), "--no-faithfulness"]) == 0
    capsys.readouterr()
    [report] = (tmp_path / "x").rglob("report.json")
    r = json.loads(report.read_text())
    assert list(r["probabilities"]) == list(SUBTYPE_CLASS_NAMES)
    assert r["methods"]["gradcam"]["target_name"] == "VIRAL"
    p = np.array(list(r["probabilities"].values()))
    assert r["prediction"]["index"] == int(p.argmax())  # no positive class: the arg-max
    assert "arg-max" in (report.parent / "report.html").read_text()

    assert main(["predict", str(model), str(viral)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split()[-3:] == ["P(NORMAL)", "P(BACTERIA)", "P(VIRAL)"]


def test_subtype_classes_from_unmarked_file_names_are_refused(tmp_path):
    from xaixray.errors import DataError

    for cls, name in (("NORMAL", "IM-0001-0001.png"), ("PNEUMONIA", "case1.png")):
        (tmp_path / cls).mkdir()
        (tmp_path / cls / name).write_bytes(b"")
    with pytest.raises(DataError, match="no file name says 'bacteria'"):
        load_folder(tmp_path, None, SUBTYPE_CLASS_NAMES)


def test_evaluate_three_classes_reports_conformal_sets_and_uses_or_refuses_a_threshold(
        subtype_folder, tmp_path, capsys):
    keras = pytest.importorskip("keras")
    from xaixray import Classifier, ModelError
    from xaixray.evaluation import evaluate, format_metrics

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    # NORMAL always in the set, BACTERIA never, VIRAL when P(VIRAL) >= 0.5
    info = {"conformal": {"alpha": 0.1, "quantiles": {"NORMAL": 1.0, "BACTERIA": -1.0,
                                                       "VIRAL": 0.5}}}
    clf = Classifier.from_keras(model, class_names=SUBTYPE_CLASS_NAMES, scaling="unit")
    clf.info = info
    ev = evaluate(clf, subtype_folder)
    c = ev.metrics["conformal"]
    assert c["alpha"] == 0.1 and c["coverage_by_class"]["NORMAL"] == 1.0
    assert c["coverage_by_class"]["BACTERIA"] == 0.0 and c["empty"] == 0.0
    text = format_metrics(ev.metrics)
    assert "conformal prediction sets (alpha 0.1" in text and "coverage VIRAL" in text
    assert "uncertain (two or more classes)" in text
    # arg-max: a threshold has nothing to act on, so it is refused, not ignored
    with pytest.raises(ModelError, match=r"positive class") as err:
        evaluate(clf, subtype_folder, threshold=0.3)
    assert "\n" not in str(err.value)
    clf.save(tmp_path / "argmax.keras")
    assert main(["evaluate", str(tmp_path / "argmax.keras"), str(subtype_folder),
                 "--threshold", "0.3"]) == 1
    err = capsys.readouterr().err.strip()
    assert "a threshold needs a positive class" in err and "\n" not in err
    # one-vs-rest: the threshold decides, as the classifier's own would
    ovr = Classifier.from_keras(model, class_names=SUBTYPE_CLASS_NAMES, scaling="unit",
                                positive_class="VIRAL", threshold=0.5)
    matrices = []
    for t in (0.2, 0.5):  # P(VIRAL) of this untrained model is about 1/3 for every image
        at_t = evaluate(ovr, subtype_folder, threshold=t)
        ovr_t = Classifier.from_keras(model, class_names=SUBTYPE_CLASS_NAMES, scaling="unit",
                                      positive_class="VIRAL", threshold=t)
        matrices.append(at_t.metrics["confusion_matrix"])
        assert matrices[-1] == evaluate(ovr_t, subtype_folder).metrics["confusion_matrix"]
        assert f"P(VIRAL) >= {t:g}" in at_t.metrics["decision"]
    assert matrices[0] != matrices[1] and ovr.threshold == 0.5  # the classifier is unchanged
