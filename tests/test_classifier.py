"""Classifier: prediction, thresholds, saving and loading (xaixray and plain Keras files)."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest

from xaixray import Classifier, ModelError
from xaixray.classifier import read_metadata


def test_predict_proba_accepts_single_and_many(tiny_classifier, rng):
    image = rng.integers(0, 256, (60, 50), dtype=np.uint8)
    one = tiny_classifier.predict_proba(image)
    many = tiny_classifier.predict_proba([image, image / 255.0, np.dstack([image] * 3)])
    assert one.shape == (1, 2) and many.shape == (3, 2)
    np.testing.assert_allclose(many.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(many[0], one[0], rtol=1e-5)


def test_threshold_decides_binary_labels(tiny_classifier):
    proba = np.array([[0.6, 0.4], [0.2, 0.8], [0.75, 0.25]])
    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing, threshold=0.3)
    assert clf.decide(proba).tolist() == [1, 1, 0]
    clf.threshold = 0.5
    assert clf.decide(proba).tolist() == [0, 1, 0]


def test_predict_returns_class_names(tiny_classifier, rng):
    labels = tiny_classifier.predict([rng.integers(0, 256, (40, 40), dtype=np.uint8)] * 2)
    assert set(labels) <= {"NORMAL", "PNEUMONIA"} and len(labels) == 2


def test_save_load_round_trip_keeps_predictions_and_metadata(tiny_classifier, tmp_path, rng):
    pre = tiny_classifier.preprocessing.replace(scaling="raw", equalize="clahe")
    clf = Classifier(tiny_classifier.model, pre, threshold=0.3, name="round-trip",
                     info={"note": "x"})
    path = clf.save(tmp_path / "m.keras")
    loaded = Classifier.load(path)
    images = [rng.integers(0, 256, (50, 40), dtype=np.uint8) for _ in range(3)]
    np.testing.assert_allclose(loaded.predict_proba(images), clf.predict_proba(images), rtol=1e-5)
    assert loaded.preprocessing == clf.preprocessing
    assert (loaded.threshold, loaded.name, loaded.class_names) == (0.3, "round-trip",
                                                                   ("NORMAL", "PNEUMONIA"))
    assert loaded.info == {"note": "x"}
    assert Classifier.load(path, equalize="none").preprocessing.equalize == "none"  # override
    # still an ordinary Keras file
    plain = keras.saving.load_model(path)
    assert plain.count_params() == clf.model.count_params()


def test_save_never_overwrites_or_leaves_partial_files(tiny_classifier, tmp_path):
    path = tiny_classifier.save(tmp_path / "m.keras")
    before = path.read_bytes()
    with pytest.raises(ModelError, match="already exists"):
        tiny_classifier.save(path)
    assert path.read_bytes() == before
    with pytest.raises(ModelError, match=".keras"):
        tiny_classifier.save(tmp_path / "m.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def _plain_softmax_model():
    return keras.Sequential([
        keras.Input((40, 40, 3)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, activation="softmax"),
    ])


def test_foreign_keras_file_loads_with_inferred_metadata(tmp_path, rng):
    model = _plain_softmax_model()
    path = tmp_path / "foreign.keras"
    model.save(path)
    assert read_metadata(path) is None
    clf = Classifier.load(path)
    assert clf.preprocessing.image_shape == (40, 40, 3)
    assert (clf.output_kind, clf.preprocessing.scaling, clf.name) == ("softmax", "unit", "foreign")
    image = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    expected = model(np.repeat(clf.preprocessing.fit(image)[None] / 255.0, 1, axis=0))
    np.testing.assert_allclose(clf.predict_proba(image), np.asarray(expected), rtol=1e-5)
    raw = Classifier.load(path, scaling="raw", threshold=0.7)
    assert raw.preprocessing.scaling == "raw" and raw.threshold == 0.7


def test_foreign_row_lstm_is_recognised(tmp_path):
    model = keras.Sequential([keras.Input((20, 60)), keras.layers.LSTM(4),
                              keras.layers.Dense(2, activation="softmax")])
    path = tmp_path / "rows.keras"
    model.save(path)
    clf = Classifier.load(path)
    assert (clf.preprocessing.layout, clf.preprocessing.image_shape) == ("rows", (20, 20, 3))
    assert clf.predict_proba(np.zeros((30, 30), np.uint8)).shape == (1, 2)


def test_logit_outputs_are_turned_into_probabilities(rng):
    model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    clf = Classifier.from_keras(model)
    assert clf.from_logits
    p = clf.predict_proba(rng.integers(0, 256, (16, 16), dtype=np.uint8))
    assert np.all((p > 0) & (p < 1))


@pytest.mark.parametrize("head", ["sigmoid", "softmax", "linear", "activation_layer"])
def test_log_odds_come_from_the_logits_even_where_probabilities_saturate(head, rng):
    units = 1 if head in ("sigmoid", "linear", "activation_layer") else 3
    act = {"activation_layer": None, "linear": None}.get(head, head)
    stack = [keras.Input((8, 8, 1)), keras.layers.Flatten(),
             keras.layers.Dense(units, activation=act, name="head")]
    if head == "activation_layer":
        stack.append(keras.layers.Activation("sigmoid"))
    model = keras.Sequential(stack)
    w = rng.normal(0, 0.5, (64, units)).astype(np.float32)
    model.get_layer("head").set_weights([w, np.zeros(units, np.float32)])
    clf = Classifier.from_keras(model, class_names=None if units == 1 else ("a", "b", "c"))
    x = rng.random((5, 8, 8, 1)).astype(np.float32)
    x[0] = 5.0 * (w[:, :1] > 0).reshape(8, 8, 1)  # saturated: p is exactly 0 or 1 in float32
    z = x.reshape(5, 64).astype(np.float64) @ w
    if units == 1:
        expected = np.concatenate([-z, z], axis=1)
    else:
        expected = np.stack([z[:, k] - np.log(np.exp(np.delete(z, k, axis=1)).sum(axis=1))
                             for k in range(3)], axis=1)
    got = clf.predict_log_odds_prepared(x)
    assert got.shape == (5, 2 if units == 1 else 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    assert np.abs(got[0]).max() > 30  # far beyond what a float32 probability can hold
    p = clf.predict_proba_prepared(x[1:]).astype(np.float64)
    np.testing.assert_allclose(got[1:], np.log(p / (1 - p)), atol=2e-3)
    if head in ("sigmoid", "softmax", "activation_layer"):  # the head was read as linear ...
        assert not clf.from_logits
        final = model.layers[-1]
        assert final.activation.__name__ == ("softmax" if head == "softmax" else "sigmoid")
        # ... only while compiling: the model still outputs probabilities
        np.testing.assert_allclose(np.asarray(model(x[1:])).max(), p.max(), rtol=1e-5)


@pytest.mark.parametrize("name, content, reason", [
    ("model.pkl", b"\x80\x04", "pickled models are refused"),
    ("model.keras", b"not a zip", "not a Keras .keras model file"),
    ("missing.keras", None, "no such model file"),
])
def test_bad_model_files(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=reason):
        Classifier.load(path)


def test_broken_keras_archive_is_one_line(tmp_path):
    path = tmp_path / "broken.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", json.dumps({"class_name": "Nope", "config": {}}))
    with pytest.raises(ModelError, match="cannot load as a Keras model") as info:
        Classifier.load(path)
    assert "\n" not in str(info.value)


def _with_metadata(source, target, change) -> None:
    """A copy of the model file ``source`` whose xaixray metadata went through ``change``."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xaixray.json":
                meta = json.loads(data)
                change(meta)
                data = json.dumps(meta).encode()
            zout.writestr(item, data)


@pytest.mark.parametrize("change, reason", [
    (lambda m: m["preprocessing"].update(denoise="nlm"),
     "newer xaixray \\(preprocessing steps unknown here \\(denoise\\)\\)"),
    (lambda m: m.update(format_version=99), "format version 99; this one reads up to 1"),
])
def test_files_of_a_newer_xaixray_are_refused_not_misread(tiny_classifier, tmp_path, change,
                                                          reason):
    path = tiny_classifier.save(tmp_path / "m.keras")
    _with_metadata(path, tmp_path / "newer.keras", change)
    with pytest.raises(ModelError, match=reason):
        Classifier.load(tmp_path / "newer.keras")
    # a step this version does not know but which is switched off changes nothing
    _with_metadata(path, tmp_path / "off.keras",
                   lambda m: m["preprocessing"].update(denoise="none"))
    assert Classifier.load(tmp_path / "off.keras").preprocessing == tiny_classifier.preprocessing


def test_mismatched_override_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    _plain_softmax_model().save(path)
    with pytest.raises(ModelError, match="expects"):
        Classifier.load(path, channels=1)


# ---------------------------------------------------------------------- safe loading
def _lambda_model():
    return keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Lambda(lambda x: x * 2.0),
                             keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_models_are_refused_unless_unsafe(tmp_path, suffix, capsys):
    from xaixray.cli import main

    path = tmp_path / f"lambda{suffix}"
    _lambda_model().save(path)
    with pytest.raises(ModelError, match="safe mode") as info:
        Classifier.load(path)
    message = str(info.value)
    assert "--unsafe" in message and "unsafe=True" in message and "\n" not in message
    assert Classifier.load(path, unsafe=True).output_kind == "sigmoid"  # the explicit opt-in

    image = tmp_path / "x.png"
    import cv2

    cv2.imwrite(str(image), np.zeros((20, 20), np.uint8))
    assert main(["predict", str(path), str(image)]) == 1
    err = capsys.readouterr().err
    assert "--unsafe" in err and "Traceback" not in err
    assert main(["predict", str(path), str(image), "--unsafe"]) == 0


def test_old_keras_is_refused_at_load_time(tiny_model_path, monkeypatch):
    from pathlib import Path

    monkeypatch.setattr(keras, "__version__", "3.13.2")
    with pytest.raises(ModelError, match=r"Keras 3\.13\.2 .*keras>=3\.14") as info:
        Classifier.load(tiny_model_path)
    assert "\n" not in str(info.value)

    from xaixray.classifier import MIN_KERAS, check_keras_version

    check_keras_version("3.14.0")
    check_keras_version("4.0.1")
    with pytest.raises(ModelError):
        check_keras_version("3.9.2")
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert f'"keras>={".".join(map(str, MIN_KERAS))}",' in pyproject


# ---------------------------------------------------------------------- model file suffixes
@pytest.mark.parametrize("name", ["m.hdf5", "M.H5", "M.HDF5", "m.h5"])
def test_legacy_hdf5_files_load_under_every_spelling(tmp_path, name, rng):
    model = _plain_softmax_model()
    path = tmp_path / name
    model.save(tmp_path / "m.h5")
    if name != "m.h5":
        (tmp_path / "m.h5").rename(path)
    clf = Classifier.load(path)
    image = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    expected = np.asarray(model(clf.preprocessing.fit(image)[None] / 255.0))
    np.testing.assert_allclose(clf.predict_proba(image), expected, rtol=1e-5)


def test_upper_case_keras_files_save_and_load(tiny_classifier, tmp_path):
    path = tiny_classifier.save(tmp_path / "MODEL.KERAS")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MODEL.KERAS"]
    assert read_metadata(path)["name"] == "tiny"
    assert Classifier.load(path).name == "tiny"


def test_one_list_of_model_suffixes():
    from xaixray import classifier
    from xaixray.cli import common

    assert common.MODEL_SUFFIXES is classifier.MODEL_SUFFIXES
    for name in ("a.keras", "a.KERAS", "a.h5", "a.H5", "a.hdf5", "a.HDF5"):
        assert common.split_model_and_inputs([name, "x.png"], None) == (name, ["x.png"])
    assert common.split_model_and_inputs(["x.png"], None) == ("default", ["x.png"])
