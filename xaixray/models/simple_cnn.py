"""Seed 004: simple CNN.

224x224x3 in [0, 1]; Conv(32, 3x3, ReLU) -> MaxPool -> Conv(64, 3x3, ReLU) -> MaxPool -> Flatten
-> Dense(128, ReLU) -> Dropout(0.5) -> Dense(2, softmax). Categorical cross-entropy, Adam.
(The flattened 54x54x64 map makes the first dense layer ~24M parameters, as in the seed.)
"""

from __future__ import annotations

from typing import Any


def build_model(input_shape: tuple) -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(shape=input_shape, name="image"),
        layers.Conv2D(32, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="relu", name="dense"),
        layers.Dropout(0.5, name="dropout"),
        layers.Dense(2, activation="softmax", name="prediction"),
    ], name="simple_cnn")
