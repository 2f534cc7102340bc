"""Recompute a model's BatchNorm statistics over its training data ("precise BN").

Keras keeps a BatchNorm layer's moving mean and variance as an exponential average (momentum
0.99) updated at every training step while the weights move. After a short training run (a few
hundred steps) those averages still remember the first epochs' activations, and inference, which
uses them, can disagree with what the trained weights compute on batch statistics: the seed 003
CNN-LSTM trained on 600 implanted X-rays for 8 epochs scored 1.00 with batch statistics and 0.50
with its moving averages on the same test images (``benchmarks/known_truth.py``).

:func:`recalibrate_batchnorm` replaces each trainable BatchNorm layer's moving statistics by
the plain average of the batch statistics over the given batches, computed with the final
weights (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", section 3). Nothing else changes:
the other weights are untouched, and layers that are frozen (``trainable=False``, as in a
fine-tuned ImageNet base) keep their statistics. :func:`precise_bn_callback` does it before every
validation pass of ``fit``, so that early stopping and the best-weights choice judge the model
as it will predict, not through unconverged averages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def batchnorm_layers(model: Any) -> list[Any]:
    """Every trainable ``BatchNormalization`` layer of ``model``, nested models included."""
    import keras

    found, stack = [], [model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            if layer.trainable:
                found.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return found


def recalibrate_batchnorm(model: Any, batches: Iterable[Any]) -> int:
    """Set BatchNorm moving statistics to their average over ``batches``; return the batch count.

    Parameters
    ----------
    model
        A Keras model. Its trainable BatchNorm layers are recalibrated; all other weights stay.
    batches
        Model inputs, batch by batch (arrays, or ``(inputs, labels)`` pairs of a
        ``tf.data.Dataset``), preprocessed as in training. A few hundred images are enough.

    Notes
    -----
    The model runs in training mode so that each BatchNorm layer sees its batch's statistics,
    with every layer's momentum set so that its moving average is the running mean of the batch
    means and variances. Dropout is active in training mode, as it was when the statistics were
    first gathered.
    """
    layers = batchnorm_layers(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    count = 0
    try:
        for batch in batches:
            inputs = batch[0] if isinstance(batch, tuple) else batch
            for layer in layers:  # new = old * k/(k+1) + batch/(k+1): the running mean
                layer.momentum = count / (count + 1)
            model(inputs, training=True)
            count += 1
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return count


def precise_bn_callback(batches: Iterable[Any]) -> Any:
    """A Keras callback that recalibrates BatchNorm statistics before each validation pass.

    ``fit`` calls ``on_test_begin`` before it evaluates the validation data at the end of an
    epoch, so the validation loss, and with it early stopping, ReduceLROnPlateau and the
    best-weights checkpoint, sees the statistics the model will predict with. Training itself
    is unchanged: training steps use batch statistics. ``batches`` must be re-iterable (a
    ``tf.data.Dataset``).
    """
    import keras

    class PreciseBatchNorm(keras.callbacks.Callback):
        def on_test_begin(self, logs: dict | None = None) -> None:
            recalibrate_batchnorm(self.model, batches)

    return PreciseBatchNorm()
