"""The plumbing every explanation method shares: :class:`Explainer` and :class:`PreparedImage`.

A method only implements :meth:`Explainer._attribute` — "given one prepared image in the model
frame and a target class, return a heatmap in the model frame". The base class loads images,
computes probabilities once, picks the target (the predicted class by default), times the call
and brings the heatmap back to the original image's frame.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..anatomy import Box
from ..classifier import Classifier
from ..errors import ExplainerError
from ..imaging import ImageLike, as_image_list, describe, load_image
from .results import Explanation, Target


@dataclass
class PreparedImage:
    """An input image made ready once and shared by every method.

    Attributes
    ----------
    original
        ``uint8`` ``(H, W)`` or ``(H, W, 3)``: the image as loaded (the original frame).
    prepared
        ``float32`` ``(h, w, c)`` in [0, 1]: the model frame.
    probabilities
        ``(n_classes,)`` model probabilities.
    predicted
        The predicted class index (``classifier.decide``).
    source
        A short description of the input.
    box
        The part of ``original`` the model sees (``preprocessing.crop_box``), ``None`` for all
        of it.
    """

    original: np.ndarray
    prepared: np.ndarray
    probabilities: np.ndarray
    predicted: int
    source: str
    box: Box | None = None

    @classmethod
    def load(cls, classifier: Classifier, image: ImageLike) -> PreparedImage:
        """Load ``image``, fit it to the model frame and compute the probabilities once."""
        return cls.load_many(classifier, [load_image(image)], [describe(image)])[0]

    @classmethod
    def load_many(cls, classifier: Classifier, originals: Sequence[np.ndarray],
                  sources: Sequence[str],
                  prepared: np.ndarray | None = None,
                  boxes: Sequence[Box | None] | None = None) -> list[PreparedImage]:
        """Prepare decoded ``uint8`` images, with one forward pass for all of them.

        Parameters
        ----------
        originals
            Images as :func:`~xaixray.imaging.load_image` returns them.
        sources
            A short description of each (its path, usually).
        prepared
            ``classifier.preprocessing.prepare(originals)``, when already computed (folder runs
            compute it in the thread that reads the files).
        boxes
            Each image's ``classifier.preprocessing.crop_box``, when already computed.
        """
        pre = classifier.preprocessing
        if boxes is None:
            boxes = [pre.crop_box(o) for o in originals]
        if prepared is None:
            prepared = pre.prepare(originals, boxes)
        proba = np.asarray(classifier.predict_proba_prepared(prepared), np.float64)
        predicted = classifier.decide(proba)
        return [cls(o, x, p, int(k), str(s), b)
                for o, x, p, k, s, b in zip(originals, prepared, proba, predicted, sources, boxes)]

    def to_original(self, heatmap: np.ndarray, preprocessing: Any, nearest: bool = False,
                    outside: float = 0.0) -> np.ndarray:
        """A model-frame map in this image's original frame (the inverse of crop and resize)."""
        return preprocessing.map_to_original(heatmap, self.original.shape[:2], self.box,
                                             nearest=nearest, outside=outside)


class Explainer:
    """Base class of the explanation methods.

    Parameters
    ----------
    classifier
        The :class:`~xaixray.Classifier` to explain (sigmoid or softmax head).
    seed
        Random seed (methods that sample use it; the same seed gives the same explanation).
    params
        Method parameters, recorded in every :class:`Explanation`.

    Examples
    --------
    >>> from xaixray.explainers import GradCAM                      # doctest: +SKIP
    >>> [e] = GradCAM(clf).explain("chest.jpeg")                     # doctest: +SKIP
    >>> e.heatmap.shape == e.image.shape[:2]                         # doctest: +SKIP
    True
    """

    name: ClassVar[str] = "explainer"
    title: ClassVar[str] = "Explainer"
    signed: ClassVar[bool] = True
    uses_seed: ClassVar[bool] = True
    batched: ClassVar[bool] = False
    """Whether :meth:`_attribute_many` shares work between the images of a batch."""

    def __init__(self, classifier: Classifier, *, seed: int = 0, **params: Any) -> None:
        self.classifier = classifier
        self.seed = int(seed)
        self.params = dict(params)

    # ------------------------------------------------------------------ public
    def explain(self, images: ImageLike | Iterable[ImageLike],
                targets: Target | Sequence[Target] = None) -> list[Explanation]:
        """Explain one image or several.

        Parameters
        ----------
        images
            A path, PIL image or array, or a list of them.
        targets
            The class to explain: index, name, or ``None`` for the predicted class; one for all
            images or a list with one per image.

        Returns
        -------
        list of Explanation
            One per image, heatmaps in each image's original frame.
        """
        items = as_image_list(images)
        per_image = expand_targets(targets, len(items))
        return [self.explain_prepared(PreparedImage.load(self.classifier, item), t)
                for item, t in zip(items, per_image)]

    def explain_prepared(self, image: PreparedImage, target: Target = None) -> Explanation:
        """Explain an image that :meth:`PreparedImage.load` has already made ready."""
        return self.explain_prepared_many([image], [target])[0]

    def explain_prepared_many(self, images: Sequence[PreparedImage],
                              targets: Sequence[Target]) -> list[Explanation]:
        """Explain several prepared images (one target each) in one call.

        Methods that can share work between images (Grad-CAM's forward and backward pass) do it
        here; the others explain one image after the other. Each explanation's ``seconds`` is its
        share of the shared work plus its own.
        """
        chosen = [image.predicted if t is None else resolve_target(self.classifier, t)
                  for image, t in zip(images, targets, strict=True)]
        if not images:
            return []
        if self.batched:
            start = time.perf_counter()
            attributed = self._attribute_many(np.stack([im.prepared for im in images]), chosen)
            shared = [(time.perf_counter() - start) / len(images)] * len(images)
        else:  # one after the other, each timed on its own
            attributed, shared = [], []
            for image, t in zip(images, chosen):
                start = time.perf_counter()
                attributed.append(self._attribute(image.prepared, t))
                shared.append(time.perf_counter() - start)
        out = []
        for image, t, (heat, extras), own in zip(images, chosen, attributed, shared):
            start = time.perf_counter()
            heat, extras = self._to_original(np.asarray(heat, np.float32), extras, image)
            heat = np.nan_to_num(heat, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
            out.append(Explanation(
                method=self.name,
                target=t,
                target_name=self.classifier.class_names[t],
                score=float(image.probabilities[t]),
                heatmap=heat,
                signed=self.signed,
                params=dict(self.params),
                extras=extras,
                seed=self.seed if self.uses_seed else None,
                seconds=own + time.perf_counter() - start,
                image=image.original,
                source=image.source,
                probabilities=image.probabilities,
            ))
        return out

    def with_classifier(self, classifier: Classifier) -> Explainer:
        """A copy of this explainer (same parameters and seed) that explains ``classifier``.

        Used to explain a modified model the same way, e.g. one with randomised weights
        (:func:`xaixray.metrics.randomization_check`).
        """
        new = copy.copy(self)
        new.classifier = classifier
        new.params = dict(self.params)
        return new

    # ------------------------------------------------------------------ hooks
    def _attribute(self, prepared: np.ndarray, target: int) -> tuple[np.ndarray, dict]:
        """Heatmap ``(h, w)`` in the model frame for ``prepared`` ``(h, w, c)`` and ``target``."""
        raise NotImplementedError

    def _attribute_many(self, prepared: np.ndarray,
                        targets: Sequence[int]) -> list[tuple[np.ndarray, dict]]:
        """:meth:`_attribute` for a batch ``(n, h, w, c)``, used when :attr:`batched`."""
        return [self._attribute(x, t) for x, t in zip(prepared, targets)]

    def _to_original(self, heatmap: np.ndarray, extras: dict,
                     image: PreparedImage) -> tuple[np.ndarray, dict]:
        """Bring a model-frame heatmap to ``image``'s original frame (bilinear, 0 outside a
        crop)."""
        return image.to_original(heatmap, self.classifier.preprocessing), extras

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.classifier.name!r}, {args})"


# ---------------------------------------------------------------------- helpers
OUTPUTS = {
    "probability": "the model's probability of the class",
    "logit": "the log-odds of that probability, from the model's logits "
             "(Classifier.predict_log_odds_prepared)",
}
DEFAULT_OUTPUT = "probability"
"""What LIME and SHAP explain by default (chosen by ``benchmarks/output_space.py``)."""


def check_output(output: str) -> str:
    """Validate an ``output=`` of LIME or SHAP (:data:`OUTPUTS`)."""
    if output not in OUTPUTS:
        raise ExplainerError(f"unknown output {output!r}; use {' or '.join(OUTPUTS)}")
    return output


def class_outputs(classifier: Classifier, batch: np.ndarray, output: str,
                  batch_size: int) -> np.ndarray:
    """``(n, n_classes)`` probabilities or log-odds of a model-frame batch."""
    if output == "logit":
        return classifier.predict_log_odds_prepared(batch, batch_size=batch_size)
    return classifier.predict_proba_prepared(batch, batch_size=batch_size)


def is_gray(prepared: np.ndarray) -> bool:
    """Whether a model-frame image ``(h, w, c)`` is grayscale (one channel or equal channels)."""
    if prepared.shape[-1] == 1:
        return True
    return bool(np.array_equal(prepared[..., 0], prepared[..., 1])
                and np.array_equal(prepared[..., 0], prepared[..., 2]))


def resolve_target(classifier: Classifier, target: Target) -> int:
    """A class index from an index, a class name (any case) or a numeric string."""
    names = classifier.class_names
    if isinstance(target, (bool, np.bool_)):
        raise ExplainerError(f"target must be a class index or name, got {target!r}")
    if isinstance(target, (int, np.integer)):
        if not 0 <= int(target) < len(names):
            raise ExplainerError(f"target {int(target)} is out of range; classes are "
                                 f"{', '.join(f'{i}={n}' for i, n in enumerate(names))}")
        return int(target)
    if isinstance(target, str):
        lowered = [n.lower() for n in names]
        if target.lower() in lowered:
            return lowered.index(target.lower())
        if target.strip().isdigit():
            return resolve_target(classifier, int(target))
        raise ExplainerError(f"unknown target class {target!r}; classes are {', '.join(names)}")
    raise ExplainerError(f"target must be a class index or name, got {type(target).__name__}")


def expand_targets(targets: Target | Sequence[Target], n: int) -> list[Target]:
    """One target per image: a single target is repeated, a list must have ``n`` entries."""
    if targets is None or isinstance(targets, (int, np.integer, str)):
        return [targets] * n
    targets = list(targets)
    if len(targets) != n:
        raise ExplainerError(f"got {len(targets)} targets for {n} images")
    return targets


def normalise_nonnegative(cam: np.ndarray) -> tuple[np.ndarray, bool]:
    """Scale a non-negative map to [0, 1] by its maximum, in float64.

    Returns the map and whether it was flat (all zero or not finite), in which case zeros are
    returned: random-weight models give activations of ~1e-12, which float64 still divides.
    """
    cam = np.asarray(cam, np.float64)
    if not np.all(np.isfinite(cam)):
        return np.zeros(cam.shape, np.float32), True
    peak = float(cam.max()) if cam.size else 0.0
    if peak <= 0.0:
        return np.zeros(cam.shape, np.float32), True
    return (np.clip(cam, 0.0, None) / peak).astype(np.float32), False
