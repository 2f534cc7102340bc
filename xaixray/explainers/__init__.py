"""Explanation methods with one signature: Grad-CAM, Grad-CAM++, LIME and SHAP.

Every method takes a :class:`~xaixray.Classifier` and returns :class:`Explanation` objects whose
heatmaps are in the original image's frame. Importing this package is light: TensorFlow, lime and
shap are imported only when a method runs.

>>> from xaixray.explainers import explain, GradCAM                  # doctest: +SKIP
>>> [result] = explain(clf, "chest.jpeg", methods=("gradcam", "lime", "shap"))  # doctest: +SKIP
>>> result.explanations["lime"].heatmap.shape                        # doctest: +SKIP
>>> result.figure().savefig("figure.png")                            # doctest: +SKIP
"""

from .api import (
    DEFAULT_METHODS,
    METHODS,
    ExplanationSet,
    check_methods,
    explain,
    explain_one,
    make_explainers,
)
from .base import Explainer, Explanation, PreparedImage
from .compare import agreement, compare, summarize_heatmap
from .gradcam import GradCAM, GradCAMPlusPlus, find_target_layer
from .lime import LIME, slic_segments
from .shap import SHAP

__all__ = [
    "DEFAULT_METHODS",
    "LIME",
    "METHODS",
    "SHAP",
    "Explainer",
    "Explanation",
    "ExplanationSet",
    "GradCAM",
    "GradCAMPlusPlus",
    "PreparedImage",
    "agreement",
    "check_methods",
    "compare",
    "explain",
    "explain_one",
    "find_target_layer",
    "make_explainers",
    "slic_segments",
    "summarize_heatmap",
]
