"""xaixray: explainable pneumonia detection on chest X-rays.

The top level is light: TensorFlow is imported only when a model is built, loaded or run.

>>> import xaixray
>>> clf = xaixray.Classifier.load("model.keras")                    # doctest: +SKIP
>>> clf.predict(["chest.jpeg"])                                      # doctest: +SKIP
"""

from __future__ import annotations

from .classifier import Classifier
from .errors import DataError, ExplainerError, ImageError, ModelError, XaixrayError
from .imaging import load_image
from .preprocessing import Preprocessing

__version__ = "0.1.0"

__all__ = [
    "Classifier",
    "DataError",
    "ExplainerError",
    "ImageError",
    "ModelError",
    "Preprocessing",
    "XaixrayError",
    "__version__",
    "load_image",
]
