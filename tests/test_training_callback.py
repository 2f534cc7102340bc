"""``xaixray.ExplanationCallback``: maps of fixed images logged while a model trains, to
TensorBoard or as PNGs, with no effect on training."""

from __future__ import annotations

import csv
import subprocess
import sys

import cv2
import numpy as np
import pytest

import xaixray
from xaixray.data import make_phantoms


def _tiny_keras_model():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
        keras.layers.BatchNormalization(),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile("adam", "binary_crossentropy")
    return model


def _image_summaries(log_dir) -> dict[int, list[str]]:
    """``{step: [tags of image summaries]}`` from the event files under ``log_dir``."""
    import tensorflow as tf

    found: dict[int, list[str]] = {}
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "images":
                    found.setdefault(event.step, []).append(value.tag)
    return found


def _scalars(log_dir) -> dict[str, dict[int, float]]:
    import tensorflow as tf

    found: dict[str, dict[int, float]] = {}
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    number = float(tf.make_ndarray(value.tensor))
                    found.setdefault(value.tag, {})[event.step] = number
    return found


def test_tensorboard_gets_one_image_per_fixed_image_and_logged_epoch(tmp_path):
    pytest.importorskip("tensorboard")  # the tensorboard extra (in the test extra)
    ph = make_phantoms(16, 32, seed=1)
    model = _tiny_keras_model()
    cb = xaixray.ExplanationCallback(list(ph.images[:2]), every=2, log_dir=tmp_path / "logs",
                                     faithfulness=True)
    model.fit(ph.images[..., None] / 255.0, ph.labels, epochs=4, batch_size=8, verbose=0,
              callbacks=[cb])
    summaries = _image_summaries(tmp_path / "logs")
    assert sorted(summaries) == [2, 4] and cb.logged_epochs == [2, 4]
    assert all(len(tags) == 2 and len(set(tags)) == 2 for tags in summaries.values())
    scalars = _scalars(tmp_path / "logs")
    assert set(scalars["gradcam/border_share"]) == {2, 4}
    assert 0 <= scalars["gradcam/outside_body_share"][4] <= 1
    assert (tmp_path / "logs" / "faithfulness.csv").exists()


def test_folder_mode_writes_figures_per_epoch_and_the_faithfulness_table(tmp_path):
    ph = make_phantoms(16, 32, seed=1)
    images = tmp_path / "fixed"
    images.mkdir()
    for i in range(2):
        cv2.imwrite(str(images / f"case{i}.png"), ph.images[i])
    clf = xaixray.Classifier.from_keras(_tiny_keras_model())
    cb = xaixray.ExplanationCallback(images, methods=("gradcam", "gradcam++"), every=1,
                                     out_dir=tmp_path / "maps", classifier=clf,
                                     faithfulness=True)
    clf.model.fit(ph.images[..., None] / 255.0, ph.labels, epochs=2, batch_size=8, verbose=0,
                  callbacks=[cb])
    pngs = sorted(p.name for p in (tmp_path / "maps").glob("*.png"))
    assert pngs == ["epoch-001-case0.png", "epoch-001-case1.png", "epoch-002-case0.png",
                    "epoch-002-case1.png"]
    assert all((tmp_path / "maps" / p).read_bytes().startswith(b"\x89PNG") for p in pngs)
    with open(tmp_path / "maps" / "faithfulness.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 2  # epochs x images x methods
    assert {r["method"] for r in rows} == {"gradcam", "gradcam++"}
    assert all(0 <= float(r["border_share"]) <= 1 and r["verdict"] for r in rows)


BIT_IDENTICAL = """
import sys, tempfile
import numpy as np
import tensorflow as tf
import xaixray
from xaixray.data import make_phantoms

tf.config.experimental.enable_op_determinism()  # CPU kernels too; seeds alone are not enough
fixed = list(make_phantoms(2, 48, seed=7).images)
out = tempfile.mkdtemp()

def weights(callback):
    ph = make_phantoms(24, 32, seed=1)
    clf = xaixray.build("compact_cnn", input_size=(32, 32), seed=0)  # batch norm, dropout
    xaixray.train(clf, (ph.images, ph.labels), epochs=2, batch_size=8, augment=True, verbose=0,
                  seed=0, patience=10, callbacks=[callback(clf)] if callback else [])
    return clf.model.get_weights()

reference = weights(None)
logged = weights(lambda clf: xaixray.ExplanationCallback(
    fixed, methods=("gradcam", "lime"), every=1, out_dir=out, classifier=clf,
    faithfulness=True, num_samples=20))
import pathlib
assert len(list(pathlib.Path(out).glob("*.png"))) == 4, "it did not explain twice"
assert len(reference) == len(logged)
changed = [i for i, (a, b) in enumerate(zip(reference, logged)) if not np.array_equal(a, b)]
assert not changed, f"weights {changed} differ"
"""


def test_training_with_the_callback_gives_bit_identical_weights():
    # in a subprocess: op determinism is process-wide and cannot be turned off again
    done = subprocess.run([sys.executable, "-c", BIT_IDENTICAL], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_callback_leaves_the_global_random_states_as_it_found_them(tmp_path):
    import random

    model = _tiny_keras_model()
    cb = xaixray.ExplanationCallback(list(make_phantoms(1, 32, seed=2).images),
                                     out_dir=tmp_path, faithfulness=True)
    cb.set_model(model)
    before = random.getstate(), np.random.get_state()[1].copy()  # noqa: NPY002
    cb.on_train_begin()  # builds Grad-CAM's private clone, whose layers Keras seeds
    cb.on_epoch_end(0)
    assert cb.logged_epochs == [1]
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])  # noqa: NPY002


def test_bad_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(xaixray.XaixrayError, match="log_dir"):
        xaixray.ExplanationCallback([np.zeros((8, 8), np.uint8)])
    with pytest.raises(xaixray.XaixrayError, match="every"):
        xaixray.ExplanationCallback([np.zeros((8, 8), np.uint8)], every=0, out_dir=tmp_path)
    with pytest.raises(xaixray.DataError, match="no image files"):
        xaixray.ExplanationCallback(tmp_path, out_dir=tmp_path / "maps")


def test_xaixray_train_explain_every_from_the_shell(phantom_folder, tmp_path):
    pytest.importorskip("tensorboard")
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    for p in sorted((phantom_folder / "train" / "PNEUMONIA").iterdir())[:2]:
        (fixed / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "model.keras"
    r = subprocess.run(
        [sys.executable, "-m", "xaixray", "train", "--arch", "compact_cnn", "--data",
         str(phantom_folder), "--out", str(out), "--epochs", "2", "--input-size", "32",
         "--batch-size", "8", "--explain-every", "2", "--explain-images", str(fixed),
         "--explain-log", str(tmp_path / "logs")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    maps = out.with_suffix(".explanations")
    assert len(list(maps.glob("epoch-002-*.png"))) == 2 and not list(maps.glob("epoch-001-*"))
    assert sorted(_image_summaries(tmp_path / "logs")) == [2]
    assert "explanations" in r.stdout
    r = subprocess.run([sys.executable, "-m", "xaixray", "train", "--arch", "compact_cnn",
                        "--data", str(phantom_folder), "--out", str(tmp_path / "m2.keras"),
                        "--explain-every", "1"], capture_output=True, text=True, timeout=600)
    assert r.returncode != 0 and "--explain-images" in r.stderr and "Traceback" not in r.stderr
