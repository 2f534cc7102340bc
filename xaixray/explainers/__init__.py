"""Explanation methods with one signature: the CAMs, LIME, SHAP, occlusion and RISE.

Every method takes a :class:`~xaixray.Classifier` and returns :class:`Explanation` objects whose
heatmaps are in the original image's frame. Results are plain data: :mod:`xaixray.plots` draws
them and :mod:`xaixray.reports` writes them. Importing this package is light: TensorFlow, lime
and shap are imported only when a method runs.

>>> from xaixray.explainers import GradCAM                           # doctest: +SKIP
>>> [e] = GradCAM(clf).explain("chest.jpeg")                         # doctest: +SKIP
>>> e.heatmap.shape == e.image.shape[:2]                             # doctest: +SKIP
True
"""

from .base import Explainer, PreparedImage, expand_targets, resolve_target
from .cams import HiResCAM, LayerCAM, ScoreCAM
from .compare import agreement, compare, peak_location, summarize_heatmap
from .gradcam import GradCAM, GradCAMPlusPlus, find_target_layer
from .gradients import InputXGradient, IntegratedGradients, Saliency, SmoothGrad
from .lime import LIME, slic_segments
from .methods import (
    DEFAULT_METHODS,
    METHODS,
    check_methods,
    explain_image,
    explain_images,
    make_explainers,
)
from .perturbation import RISE, Occlusion
from .plan import describe_methods
from .results import Explanation, ExplanationSet, Target
from .shap import SHAP

__all__ = [
    "DEFAULT_METHODS",
    "LIME",
    "METHODS",
    "RISE",
    "SHAP",
    "Saliency",
    "SmoothGrad",
    "Explainer",
    "Explanation",
    "ExplanationSet",
    "GradCAM",
    "GradCAMPlusPlus",
    "InputXGradient",
    "IntegratedGradients",
    "HiResCAM",
    "LayerCAM",
    "Occlusion",
    "PreparedImage",
    "ScoreCAM",
    "Target",
    "describe_methods",
    "agreement",
    "check_methods",
    "compare",
    "expand_targets",
    "explain_image",
    "explain_images",
    "find_target_layer",
    "make_explainers",
    "peak_location",
    "resolve_target",
    "slic_segments",
    "summarize_heatmap",
]
