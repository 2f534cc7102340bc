"""The positive class is found by name: a model whose classes are in the other order
(PNEUMONIA first) gets the same metrics, thresholds, predictions and reports as one in the
usual order, instead of silently inverted ones."""

from __future__ import annotations

import json

import cv2
import keras
import numpy as np
import pytest

from xaixray import Classifier, ModelError
from xaixray.cli import main

OTHER_ORDER = ("PNEUMONIA", "NORMAL")


def _brightness_model() -> keras.Model:
    """Softmax over (PNEUMONIA, NORMAL): P(PNEUMONIA) rises with the image's mean brightness."""
    model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")])
    model.layers[-1].set_weights([np.array([[10.0, -10.0]]), np.array([-5.0, 5.0])])
    return model


def _image(mean: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(mean * 255, 20, (24, 24)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """A plain Keras file (no xaixray metadata) and a folder: bright PNEUMONIA, dark NORMAL."""
    root = tmp_path_factory.mktemp("positive")
    path = root / "other_order.keras"
    _brightness_model().save(path)
    data = root / "data"
    for cls, mean, n in (("NORMAL", 0.25, 5), ("PNEUMONIA", 0.6, 3)):
        (data / cls).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(data / cls / f"{cls}-{i}.png"), _image(mean, 10 * i + n))
    return path, data


def test_classifier_finds_the_positive_class_by_name(foreign):
    path, _ = foreign
    clf = Classifier.load(path, class_names=OTHER_ORDER)
    bright, dark = _image(0.6, 0), _image(0.25, 0)
    assert clf.predict([bright, dark]).tolist() == ["PNEUMONIA", "NORMAL"]
    clf.threshold = 0.99  # the threshold is on P(PNEUMONIA), not on the second column
    p = clf.predict_proba(bright)[0, 0]
    assert 0.5 < p < 0.99 and clf.predict(bright).tolist() == ["NORMAL"]
    assert (clf.positive_class, clf.positive_index) == ("PNEUMONIA", 0)
    assert Classifier.load(path).positive_class == "PNEUMONIA"  # the default order
    assert Classifier.load(path, class_names=("a", "b")).positive_class == "b"  # the last
    assert Classifier.load(path, class_names=OTHER_ORDER, positive_class="NORMAL"
                           ).positive_index == 1
    with pytest.raises(ModelError, match="'COVID' is not one of the classes"):
        Classifier.load(path, positive_class="COVID")


def test_positive_class_is_saved_with_the_model(foreign, tmp_path):
    model = keras.saving.load_model(foreign[0])
    clf = Classifier.from_keras(model, class_names=("a", "b"), positive_class="a")
    loaded = Classifier.load(clf.save(tmp_path / "m.keras"))
    assert loaded.metadata()["positive_class"] == "a" and loaded.positive_index == 0


def test_evaluation_and_threshold_rule_use_the_positive_class(foreign):
    from xaixray.data import load_folder
    from xaixray.evaluation import evaluate, threshold_for_sensitivity

    path, data = foreign
    clf = Classifier.load(path, class_names=OTHER_ORDER)
    result = evaluate(clf, load_folder(data, split=None))
    m = result.metrics
    assert m["sensitivity"] == m["specificity"] == m["roc_auc"] == 1.0
    assert m["counts"] == {"tn": 5, "fp": 0, "fn": 0, "tp": 3}
    assert m["positive_class"] == "PNEUMONIA"
    assert m["confusion_matrix"] == [[3, 0], [0, 5]]  # rows and columns in the model's order
    assert (result.p_positive[result.y_true == 0] > 0.5).all()  # label 0 is PNEUMONIA here
    t = threshold_for_sensitivity(result.y_true, result.p_positive, 1.0, positive=0)
    assert t <= result.p_positive[result.y_true == 0].min() and t > 0.5


def test_training_records_validation_of_the_positive_class(foreign):
    from xaixray import train
    from xaixray.data import load_folder

    path, data = foreign
    clf = Classifier.load(path, class_names=OTHER_ORDER)
    clf.model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-12),
                      loss="sparse_categorical_crossentropy")
    images = load_folder(data, split=None)
    train(clf, images, images, epochs=1, batch_size=8, augment=False, class_weight=None,
          sensitivity=1.0, verbose=0)
    v = clf.info["validation"]
    assert v["sensitivity"] == v["roc_auc"] == 1.0
    assert 0.5 < clf.threshold < 0.99  # the lowest P(PNEUMONIA) of a PNEUMONIA image
    assert v["positive_class"] == "PNEUMONIA"


def test_cli_class_names_and_positive(foreign, tmp_path, capsys):
    path, data = foreign
    metrics = tmp_path / "m.json"
    assert main(["evaluate", str(path), str(data), "--class-names", "PNEUMONIA,NORMAL",
                 "--json", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    assert m["sensitivity"] == m["roc_auc"] == 1.0 and m["positive_class"] == "PNEUMONIA"
    assert "(recall of PNEUMONIA)" in capsys.readouterr().out

    bright = data / "PNEUMONIA" / "PNEUMONIA-0.png"
    assert main(["predict", str(path), str(bright), "--class-names", "PNEUMONIA,NORMAL"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.endswith("P(PNEUMONIA)") and row.split()[-2] == "PNEUMONIA"
    assert float(row.split()[-1]) > 0.5
    assert main(["predict", str(path), str(bright), "--class-names", "PNEUMONIA,NORMAL",
                 "--positive", "NORMAL"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("P(NORMAL)")
    assert main(["predict", str(path), str(bright), "--positive", "COVID"]) == 1
    err = capsys.readouterr().err.strip()
    assert "'COVID' is not one of the classes" in err and "\n" not in err


def test_report_states_the_threshold_on_the_positive_class(foreign, tmp_path):
    from xaixray import explain, write_report

    clf = Classifier.load(foreign[0], class_names=OTHER_ORDER)
    [result] = explain(clf, _image(0.6, 1), methods=("lime",), num_samples=10)
    html = write_report(result, tmp_path / "r").read_text()
    assert "Decision threshold on P(PNEUMONIA)" in html
    assert json.loads((tmp_path / "r" / "report.json").read_text()
                      )["model"]["positive_class"] == "PNEUMONIA"
