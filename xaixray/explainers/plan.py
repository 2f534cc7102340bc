"""Which explanation methods can run on a classifier, and the layer the CAMs will use."""

from __future__ import annotations

from typing import Any

from ..classifier import Classifier
from .methods import METHODS, make_explainers


def describe_methods(classifier: Classifier, layer: str | None = None) -> dict[str, Any]:
    """``{"gradcam_layer": {"name", "shape"} | None, "methods": {method: None | reason}}``.

    ``gradcam_layer`` is the feature map Grad-CAM and Grad-CAM++ use (``layer``, or the one
    :func:`~xaixray.explainers.find_target_layer` picks); ``methods`` maps every method to
    ``None`` when it can run on this model, else the one-line reason it cannot.
    """
    explainers, errors = make_explainers(classifier, list(METHODS), layer=layer)
    cam = explainers.get("gradcam")
    found = None
    if cam is not None:
        try:
            shape = [None if s is None else int(s) for s in cam.target_layer.output.shape]
        except (AttributeError, ValueError, TypeError):
            shape = None
        found = {"name": cam.target_layer.name, "shape": shape}
    return {"gradcam_layer": found,
            "methods": {m: errors.get(m) for m in METHODS}}


__all__ = ["describe_methods"]
