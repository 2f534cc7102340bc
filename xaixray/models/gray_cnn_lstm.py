"""Seed 003: grayscale CNN-LSTM, the model the seed explains with Grad-CAM, LIME and SHAP.

128x128x1 in [0, 1]; three blocks Conv(32/64/128) -> BatchNorm -> ReLU -> MaxPool -> Dropout
(0.2/0.3/0.4); reshape to (16, 2048); LSTM 256 (sequences) -> BN -> Dropout 0.4 -> LSTM 128 -> BN
-> Dropout 0.4; Dense 256 and 128, each BN -> ReLU -> Dropout 0.5; Dense(1, sigmoid).
2,720,129 parameters (1,984 non-trainable), as the seed reports. Focal loss (gamma=2,
alpha=0.5), Adam 1e-3.
"""

from __future__ import annotations

from typing import Any


def build_model(input_shape: tuple) -> Any:
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, (f, drop) in enumerate(((32, 0.2), (64, 0.3), (128, 0.4)), start=1):
        x = layers.Conv2D(f, 3, padding="same", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = layers.Dropout(drop, name=f"drop{i}")(x)
    h, w, c = x.shape[1:]
    x = layers.Reshape((h, w * c), name="to_sequence")(x)
    x = layers.LSTM(256, return_sequences=True, name="lstm1")(x)
    x = layers.BatchNormalization(name="lstm1_bn")(x)
    x = layers.Dropout(0.4, name="lstm1_drop")(x)
    x = layers.LSTM(128, name="lstm2")(x)
    x = layers.BatchNormalization(name="lstm2_bn")(x)
    x = layers.Dropout(0.4, name="lstm2_drop")(x)
    for i, units in enumerate((256, 128), start=1):
        x = layers.Dense(units, name=f"dense{i}")(x)
        x = layers.BatchNormalization(name=f"dense{i}_bn")(x)
        x = layers.Activation("relu", name=f"dense{i}_relu")(x)
        x = layers.Dropout(0.5, name=f"dense{i}_drop")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="prediction")(x)
    return keras.Model(inputs, outputs, name="gray_cnn_lstm")
