"""xaixray's compact grayscale CNN, the architecture of the bundled default model.

Not from a seed document: designed to train on a 2-core CPU in well under an hour and to be
robust to the exposure and contrast differences between this dataset's train and test images.
128x128x1 inputs, per-image standardised (``scaling="standardize"``); five blocks of 3x3
Conv-BN-ReLU (16-32-64-128-256 filters; two convolutions in the last two blocks) separated by
max-pooling; global average pooling; dropout; one sigmoid unit. About 1.1 M parameters
(~4.5 MB as ``.keras`` without optimizer state); ~50 training images/s on 2 CPU cores.
"""

from __future__ import annotations

from typing import Any


def build_model(input_shape: tuple, filters: tuple = (16, 32, 64, 128, 256),
                double: tuple = (4, 5), dropout: float = 0.4) -> Any:
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        for j in range(1, 3 if i in double else 2):
            x = layers.Conv2D(f, 3, padding="same", use_bias=False,
                              kernel_initializer="he_normal", name=f"block{i}_conv{j}")(x)
            x = layers.BatchNormalization(name=f"block{i}_bn{j}")(x)
            x = layers.Activation("relu", name=f"block{i}_relu{j}")(x)
        if i < len(filters):
            x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="prediction")(x)
    return keras.Model(inputs, outputs, name="compact_cnn")
