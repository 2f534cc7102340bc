"""Seed 001: MobileNet transfer learning.

ImageNet-pretrained MobileNet (frozen), GlobalAveragePooling2D, Dense(128, ReLU), Dense(2,
softmax). Inputs are scaled the MobileNet way ([-1, 1]). Categorical cross-entropy, Adam.
"""

from __future__ import annotations

from typing import Any

from .registry import imagenet_base


def build_model(input_shape: tuple, weights: str | None = "imagenet",
                dense_units: int = 128) -> Any:
    import keras
    from keras import layers

    base = imagenet_base(keras.applications.MobileNet, input_shape, weights, "MobileNet")
    base.trainable = False
    inputs = keras.Input(shape=input_shape, name="image")
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    outputs = layers.Dense(2, activation="softmax", name="prediction")(x)
    return keras.Model(inputs, outputs, name="mobilenet_transfer")
