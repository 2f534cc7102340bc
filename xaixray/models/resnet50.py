"""Seed 002: ResNet50 transfer learning, written as the seed writes it.

``Sequential([ResNet50(include_top=False), GlobalAveragePooling2D(), Dense(256), Dropout(0.5),
Dense(128), Dropout(0.3), Dense(1, sigmoid)])`` on 150x150x3 inputs, every base layer but the last
15 frozen. Inputs are scaled the ResNet50 way (``caffe``: BGR, ImageNet mean subtracted). Binary
cross-entropy, Adam 1e-4.
"""

from __future__ import annotations

from typing import Any

from .registry import imagenet_base


def build_model(input_shape: tuple, weights: str | None = "imagenet",
                trainable_layers: int = 15) -> Any:
    import keras
    from keras import layers

    base = imagenet_base(keras.applications.ResNet50, input_shape, weights, "ResNet50")
    for layer in base.layers[:-trainable_layers]:
        layer.trainable = False
    return keras.Sequential([
        keras.Input(shape=input_shape, name="image"),
        base,
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(256, activation="relu", name="dense1"),
        layers.Dropout(0.5, name="dropout1"),
        layers.Dense(128, activation="relu", name="dense2"),
        layers.Dropout(0.3, name="dropout2"),
        layers.Dense(1, activation="sigmoid", name="prediction"),
    ], name="resnet50_transfer")
