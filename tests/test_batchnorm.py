"""Precise BatchNorm: moving statistics become the average of batch statistics at final weights."""

from __future__ import annotations

import numpy as np
import pytest

import xaixray
from xaixray.data import make_phantoms
from xaixray.models.batchnorm import batchnorm_layers, precise_bn_callback, recalibrate_batchnorm


def _bn_model(frozen_inner: bool = False):
    import keras

    inner = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(name="inner_bn")],
                             name="inner")
    inner.trainable = not frozen_inner
    inputs = keras.Input((3,))
    x = keras.layers.BatchNormalization(name="outer_bn")(inputs)
    x = inner(x)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(x))


def _batches(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)  # batches with different means, so the rule matters
    return [rng.normal(loc, 2.0, (16, 3)).astype("float32") for loc in (1.0, 5.0, 9.0, 3.0)]


def test_moving_statistics_become_the_mean_of_the_batch_statistics():
    model = _bn_model()
    bn = model.get_layer("outer_bn")
    batches = _batches()
    assert recalibrate_batchnorm(model, batches) == 4
    np.testing.assert_allclose(bn.moving_mean.numpy(),
                               np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(),
                               np.mean([b.var(axis=0) for b in batches], axis=0), rtol=1e-4)
    assert bn.momentum == pytest.approx(0.99)  # the training momentum is back


def test_frozen_layers_keep_their_statistics_and_nested_ones_are_found():
    model = _bn_model(frozen_inner=True)
    inner = model.get_layer("inner").get_layer("inner_bn")
    assert [layer.name for layer in batchnorm_layers(model)] == ["outer_bn"]
    recalibrate_batchnorm(model, [(b, np.zeros(len(b))) for b in _batches()])  # (x, y) pairs
    np.testing.assert_array_equal(inner.moving_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(inner.moving_variance.numpy(), np.ones(3))
    assert float(model.get_layer("outer_bn").moving_mean.numpy()[0]) > 1.0

    unfrozen = _bn_model()
    assert {layer.name for layer in batchnorm_layers(unfrozen)} == {"outer_bn", "inner_bn"}


def test_a_model_without_batchnorm_is_left_alone():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert recalibrate_batchnorm(model, _batches()) == 0


def test_the_callback_recalibrates_before_fit_validates():
    import tensorflow as tf

    model = _bn_model()
    model.compile(optimizer="sgd", loss="mse")
    batches = _batches()
    x = np.concatenate(batches)
    data = tf.data.Dataset.from_tensor_slices((x, np.zeros(len(x)))).batch(16)
    model.fit(data, validation_data=data, epochs=1, verbose=0, shuffle=False,
              callbacks=[precise_bn_callback(tf.data.Dataset.from_tensor_slices(x).batch(16))])
    # four training steps at momentum 0.99 leave the moving mean near 0; the pass before
    # validation puts it at the data's mean
    np.testing.assert_allclose(model.get_layer("outer_bn").moving_mean.numpy(), x.mean(axis=0),
                               rtol=1e-4)


def test_train_with_precise_bn_sets_the_first_layer_statistics_to_the_training_mean():
    import keras

    from xaixray.data import decode_images, make_dataset

    train, val = make_phantoms(32, 32, seed=1), make_phantoms(8, 32, seed=2)
    clf = xaixray.build("compact_cnn", input_size=(32, 32), seed=0)
    xaixray.train(clf, train, val, epochs=1, batch_size=8, augment=False, verbose=0,
                  precise_bn=True)
    assert clf.info["training"]["precise_bn_batches"] == 4
    bn = clf.model.get_layer("block1_bn1")
    features = keras.Model(clf.model.inputs, clf.model.get_layer("block1_conv1").output)
    images = decode_images(list(train.images), clf.preprocessing)[0]
    x = np.concatenate(list(make_dataset(images, None, clf.preprocessing, 8)))
    mean = features.predict(x, verbose=0).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-3, atol=1e-4)
