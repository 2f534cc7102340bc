"""What every metric needs first: the image in the model frame, a map on that grid, a target."""

from __future__ import annotations

import numpy as np

from ..anatomy import Box
from ..classifier import Classifier
from ..errors import ExplainerError
from ..explainers import PreparedImage, Target, resolve_target
from ..imaging import ImageLike, cut_box, load_image, resize_map


def model_frame(classifier: Classifier, image: ImageLike | PreparedImage) -> np.ndarray:
    """The image as the model sees it: ``float32`` ``(h, w, c)`` in [0, 1].

    ``image`` is a :class:`~xaixray.explainers.PreparedImage`, a floating-point array already in
    the model frame (the shape of ``classifier.preprocessing.image_shape``), or anything
    :func:`~xaixray.load_image` reads (a path, a PIL image, a ``uint8`` array), which is then
    prepared with ``classifier.preprocessing``.
    """
    if isinstance(image, PreparedImage):
        return np.asarray(image.prepared, np.float32)
    shape = classifier.preprocessing.image_shape
    if isinstance(image, np.ndarray) and np.issubdtype(image.dtype, np.floating):
        if image.shape == shape:
            return image.astype(np.float32, copy=False)
        if image.shape == shape[:2] and shape[2] == 1:
            return image.astype(np.float32)[..., None]
    return classifier.preprocessing.prepare([image])[0]


def _in_model_frame(classifier: Classifier, image: object) -> bool:
    """Whether :func:`model_frame` takes ``image`` as already in the model frame."""
    shape = classifier.preprocessing.image_shape
    return (isinstance(image, np.ndarray) and np.issubdtype(image.dtype, np.floating)
            and (image.shape == shape or (image.shape == shape[:2] and shape[2] == 1)))


def crop_box_of(classifier: Classifier, image: ImageLike | PreparedImage
                ) -> tuple[Box, tuple[int, int]] | None:
    """Where the model frame sits in the original image: ``(box, original (H, W))``.

    ``None`` when the model does not crop, and for an image given already in the model frame.
    """
    if isinstance(image, PreparedImage):
        return None if image.box is None else (image.box, image.original.shape[:2])
    if classifier.preprocessing.crop == "none" or _in_model_frame(classifier, image):
        return None
    original = load_image(image)
    box = classifier.preprocessing.crop_box(original)
    return None if box is None else (box, original.shape[:2])


def map_on_grid(heatmap: np.ndarray, shape: tuple[int, int],
                crop: tuple[Box, tuple[int, int]] | None = None) -> np.ndarray:
    """A 2-D map resampled to ``shape`` (area-averaged when shrinking), non-finite values as 0.

    ``crop`` (:func:`crop_box_of` of the image the map belongs to) is cut out first, scaled to
    the map's resolution, so that an original-frame map lands on the model frame as the image
    did (:meth:`~xaixray.preprocessing.Preprocessing.map_to_model`). A map of exactly ``shape``
    is taken as already in the model frame.
    """
    heat = np.asarray(heatmap, np.float32)
    if heat.ndim == 3 and heat.shape[-1] == 1:
        heat = heat[..., 0]
    if heat.ndim != 2:
        raise ExplainerError(f"a heatmap must be 2-D (height, width), got shape {heat.shape}")
    heat = np.nan_to_num(heat, nan=0.0, posinf=0.0, neginf=0.0)
    if crop is not None and (heat.shape != tuple(shape) or heat.shape == tuple(crop[1])):
        heat = cut_box(heat, *crop)
    return resize_map(heat, shape).astype(np.float32)


def target_index(classifier: Classifier, prepared: np.ndarray, target: Target) -> int:
    """``target`` as a class index; ``None`` is the class the classifier predicts."""
    if target is not None:
        return resolve_target(classifier, target)
    proba = classifier.predict_proba_prepared(prepared[None])
    return int(classifier.decide(proba)[0])


SCORES = {
    "probability": "the model's probability of the target class, in [0, 1]",
    "logit": "the log-odds of that probability, log(p / (1 - p)), from the model's logits "
             "(Classifier.predict_log_odds_prepared): it still moves where the probability "
             "is saturated near 0 or 1",
}


def all_class_scores(classifier: Classifier, batch: np.ndarray, score: str = "probability",
                     batch_size: int = 64) -> np.ndarray:
    """Every class's :data:`SCORES` ``score`` for a model-frame batch: ``(n, classes)`` float64."""
    if score == "probability":
        out = classifier.predict_proba_prepared(batch, batch_size=batch_size)
    elif score == "logit":
        out = classifier.predict_log_odds_prepared(batch, batch_size=batch_size)
    else:
        raise ExplainerError(f"unknown score {score!r}; use {' or '.join(SCORES)}")
    return np.asarray(out, np.float64)


def class_scores(classifier: Classifier, batch: np.ndarray, target: int, score: str = "probability",
                 batch_size: int = 64) -> np.ndarray:
    """The target's :data:`SCORES` ``score`` for a model-frame batch ``(n, h, w, c)``, float64."""
    return all_class_scores(classifier, batch, score, batch_size)[:, target]
