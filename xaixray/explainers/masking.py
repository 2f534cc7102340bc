"""What perturbation methods share: the fill hidden pixels take, and scoring masked copies.

Occlusion, RISE and Score-CAM hide part of the image and watch the class score change. The
hidden pixels take a *fill* image (:func:`fill_image`); the copies are made inside the compiled
forward pass (:meth:`~xaixray.Classifier.predict_masked_prepared`), so only the masks travel to
it, boolean (occlusion) or soft in [0, 1] (RISE, Score-CAM).
"""

from __future__ import annotations

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError

FILLS = {
    "blur": "a box blur of half the image side (hidden regions become their local average, as "
            "SHAP's blur masker)",
    "mean": "the image's mean intensity",
    "black": "zero (the image multiplied by the mask, as in the RISE and Score-CAM papers)",
}


def check_fill(fill: str) -> str:
    """Validate a ``fill=`` (:data:`FILLS`)."""
    if fill not in FILLS:
        raise ExplainerError(f"unknown fill {fill!r}; use {', '.join(FILLS)}")
    return fill


def fill_image(prepared: np.ndarray, fill: str) -> np.ndarray:
    """The image ``(h, w, c)`` that hidden pixels of ``prepared`` take (:data:`FILLS`)."""
    x = np.asarray(prepared, np.float32)
    if fill == "black":
        return np.zeros_like(x)
    if fill == "mean":
        return np.broadcast_to(x.mean(axis=(0, 1)), x.shape).astype(np.float32)
    import cv2

    k = max(3, min(x.shape[:2]) // 2)
    return cv2.blur(x, (k, k)).reshape(x.shape).astype(np.float32)


def masked_scores(classifier: Classifier, image: np.ndarray, fill: np.ndarray,
                  masks: np.ndarray, target: int, output: str, batch_size: int) -> np.ndarray:
    """``(n,)`` float64 scores of ``target`` for ``fill + masks[i] * (image - fill)``.

    ``masks`` ``(n, h, w)``: boolean (kept pixels) or float32 in [0, 1] (soft).
    """
    if len(masks) == 0:
        return np.zeros(0, np.float64)
    out = classifier.predict_masked_prepared(image, fill, masks, output, batch_size)
    return np.asarray(out[:, target], np.float64)


def frame_pixels(value: float, side: int, name: str) -> int:
    """A size given in pixels (an integer >= 1) or as a fraction of ``side`` (0 < value < 1)."""
    v = float(value)
    if v <= 0 or (v >= 1 and v != int(v)):
        raise ExplainerError(f"{name} must be a whole number of pixels or a fraction in (0, 1), "
                             f"got {value!r}")
    return max(1, min(side, round(v * side) if v < 1 else int(v)))
