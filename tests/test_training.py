"""Training runs end to end on tiny data and records what it did."""

from __future__ import annotations

import numpy as np
import pytest

import xaixray
from xaixray.data import make_phantoms


def test_fit_on_folder_with_patient_split(phantom_folder, tmp_path):
    clf = xaixray.build("compact_cnn", input_size=(32, 32), seed=0)
    history = xaixray.train(clf, phantom_folder, epochs=2, batch_size=8, val_fraction=0.25,
                      checkpoint=tmp_path / "best.weights.h5", verbose=0)
    assert len(history["loss"]) == 2 and "val_loss" in history
    t = clf.info["training"]
    assert t["train_images"] + t["validation_images"] == 36
    assert t["class_weight"] is not None and "validation" in clf.info
    assert (tmp_path / "best.weights.h5").exists()


def test_fit_learns_phantoms():
    train, val = make_phantoms(160, 48, seed=1), make_phantoms(48, 48, seed=2)
    clf = xaixray.build("compact_cnn", input_size=(48, 48), seed=0)
    xaixray.train(clf, train, val, epochs=6, batch_size=16, augment=False, verbose=0,
                  sensitivity=1.0)
    assert clf.info["validation"]["roc_auc"] > 0.75
    # the threshold rule ran on the validation images: every PNEUMONIA phantom is caught
    p = clf.predict_proba(val.images)[:, 1]
    assert clf.threshold == pytest.approx(p[val.labels == 1].min(), rel=1e-5)
    assert clf.info["validation_at_threshold"]["sensitivity"] == 1.0
    assert "sensitivity >= 1.0" in clf.info["threshold_rule"]


def test_fit_on_arrays_without_validation():
    ph = make_phantoms(16, 40, seed=0)
    clf = xaixray.build("simple_cnn", input_size=(40, 40), seed=0)
    history = xaixray.train(clf, (ph.images, ph.labels), epochs=1, batch_size=8, verbose=0)
    assert "val_loss" not in history
    assert clf.predict_proba(ph.images[:2]).shape == (2, 2)
    assert np.isfinite(history["loss"][0])


def test_user_callbacks_run_before_early_stopping_records_the_best_weights():
    # A callback that changes the weights at the end of an epoch (as SwapEMAWeights does when it
    # swaps the averaged weights in) must run before early stopping copies the best weights.
    import keras

    class MarkBias(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.get_layer("prediction").bias.assign([123.0])

    train, val = make_phantoms(24, 32, seed=1), make_phantoms(8, 32, seed=2)
    clf = xaixray.build("compact_cnn", input_size=(32, 32), seed=0)
    xaixray.train(clf, train, val, epochs=2, batch_size=8, augment=False, verbose=0,
                  callbacks=[MarkBias()])
    assert float(clf.model.get_layer("prediction").bias.numpy()[0]) == 123.0
