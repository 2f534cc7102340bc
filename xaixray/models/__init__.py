"""The model zoo: every architecture described in the seed documents, by name.

>>> from xaixray import models
>>> models.available()                                               # doctest: +SKIP
['cnn_lstm', 'compact_cnn', 'gray_cnn_lstm', 'mobilenet', 'resnet50', 'row_lstm', 'simple_cnn']
>>> clf = models.build("resnet50", weights=None)                     # doctest: +SKIP
"""

from ..preprocessing import Preprocessing
from .registry import Architecture, available, build, compile_model, get, make_loss, register

register(Architecture(
    "cnn_lstm", "000", "CNN feature maps read as a sequence by an LSTM (He init, softmax)",
    "cnn_lstm", Preprocessing((224, 224), 3, "unit"), "softmax",
    "sparse_categorical_crossentropy"))
register(Architecture(
    "row_lstm", "001", "Three stacked LSTMs reading a 150x150x3 image as 150 rows of 450",
    "row_lstm", Preprocessing((150, 150), 3, "unit", "rows"), "softmax",
    "sparse_categorical_crossentropy"))
register(Architecture(
    "mobilenet", "001", "MobileNet transfer: frozen base, GAP, Dense 128, softmax",
    "mobilenet", Preprocessing((150, 150), 3, "symmetric"), "softmax",
    "sparse_categorical_crossentropy", transfer=True))
register(Architecture(
    "resnet50", "002", "ResNet50 transfer: last 15 layers trainable, GAP, 256/128 head, sigmoid",
    "resnet50", Preprocessing((150, 150), 3, "caffe"), "sigmoid", "binary_crossentropy",
    learning_rate=1e-4, transfer=True))
register(Architecture(
    "gray_cnn_lstm", "003", "Three conv blocks with BN, reshape to (16, 2048), LSTM 256/128, "
    "focal loss", "gray_cnn_lstm", Preprocessing((128, 128), 1, "unit"), "sigmoid", "focal"))
register(Architecture(
    "simple_cnn", "004", "Conv32-pool-Conv64-pool-Flatten-Dense128-Dropout-softmax",
    "simple_cnn", Preprocessing((224, 224), 3, "unit"), "softmax",
    "sparse_categorical_crossentropy"))

register(Architecture(
    "compact_cnn", "-", "xaixray's compact grayscale CNN (BN, GAP, sigmoid); the default model",
    "compact_cnn", Preprocessing((128, 128), 1, "standardize"), "sigmoid",
    "binary_crossentropy", learning_rate=1e-3))

__all__ = ["Architecture", "available", "build", "compile_model", "get", "make_loss", "register"]
