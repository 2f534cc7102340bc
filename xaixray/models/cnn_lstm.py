"""Seed 000: CNN + LSTM hybrid.

Input 224x224x3 scaled to [0, 1]; three Conv-ReLU-MaxPool blocks with He initialisation extract
feature maps, a Reshape turns the 28x28x128 map into 28 steps of 3,584 features, an LSTM reads
them, and dense layers end in a softmax over (NORMAL, PNEUMONIA). Sparse categorical
cross-entropy, Adam.
"""

from __future__ import annotations

from typing import Any


def build_model(input_shape: tuple, filters: tuple = (32, 64, 128), lstm_units: int = 64,
                dense_units: int = 64, dropout: float = 0.5) -> Any:
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, padding="same", activation="relu",
                          kernel_initializer="he_normal", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    h, w, c = x.shape[1:]
    x = layers.Reshape((h, w * c), name="to_sequence")(x)
    x = layers.LSTM(lstm_units, name="lstm")(x)
    x = layers.Dense(dense_units, activation="relu", kernel_initializer="he_normal",
                     name="dense")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(2, activation="softmax", name="prediction")(x)
    return keras.Model(inputs, outputs, name="cnn_lstm")
