"""xaixray: explainable pneumonia detection on chest X-rays.

The top level is light: TensorFlow is imported only when a model is built, loaded or run.

>>> import xaixray
>>> clf = xaixray.Classifier.load("model.keras")                    # doctest: +SKIP
>>> clf.predict(["chest.jpeg"])                                      # doctest: +SKIP
"""

from __future__ import annotations

from .classifier import Classifier
from .errors import DataError, ExplainerError, ImageError, ModelError, XaixrayError
from .explainers import (
    LIME,
    SHAP,
    Explanation,
    ExplanationSet,
    GradCAM,
    GradCAMPlusPlus,
    explain,
)
from .imaging import load_image
from .plots import plot_explanations
from .preprocessing import Preprocessing
from .reports import explain_paths, write_report

__version__ = "0.1.0"

__all__ = [
    "LIME",
    "SHAP",
    "Classifier",
    "Explanation",
    "ExplanationSet",
    "GradCAM",
    "GradCAMPlusPlus",
    "explain",
    "explain_paths",
    "plot_explanations",
    "write_report",
    "DataError",
    "ExplainerError",
    "ImageError",
    "ModelError",
    "Preprocessing",
    "XaixrayError",
    "__version__",
    "load_image",
]
