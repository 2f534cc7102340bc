"""Seed 001: row-LSTM.

A 150x150x3 image scaled to [0, 1] is read as a sequence of 150 rows of 450 values (layout
``rows``). Three LSTMs (250, 120, 64 units; dropout 0.05, recurrent dropout 0.20), dense layers
250/120/64/28 (ReLU) and a softmax over two classes. Categorical cross-entropy, Adam. There is no
convolution, so Grad-CAM does not apply; LIME and SHAP do.
"""

from __future__ import annotations

from typing import Any


def build_model(input_shape: tuple, lstm_units: tuple = (250, 120, 64),
                dense_units: tuple = (250, 120, 64, 28), dropout: float = 0.05,
                recurrent_dropout: float = 0.20) -> Any:
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="rows")
    x = inputs
    for i, units in enumerate(lstm_units, start=1):
        x = layers.LSTM(units, return_sequences=i < len(lstm_units), dropout=dropout,
                        recurrent_dropout=recurrent_dropout, name=f"lstm{i}")(x)
    for i, units in enumerate(dense_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"dense{i}")(x)
    outputs = layers.Dense(2, activation="softmax", name="prediction")(x)
    return keras.Model(inputs, outputs, name="row_lstm")
