"""Gradient attributions: Saliency, Input x Gradient, Integrated Gradients and SmoothGrad.

Each differentiates the class score Grad-CAM uses (the target's logit; the log-odds where the
model gives no logits) with respect to the model-frame image, on the private logit clone of
:mod:`.gradcam` (the user's model is never changed, and its current weights are used). A method
says at which inputs it needs the gradient (:meth:`GradientExplainer._points`) and how it turns
them into attributions (:meth:`GradientExplainer._combine`); the base class sends the points of
every image of a batch through one compiled gradient pass, ``batch_size`` at a time.

References: Simonyan et al., "Deep inside convolutional networks", 2014; Shrikumar et al.,
"Not just a black box", 2016; Sundararajan et al., "Axiomatic attribution for deep networks",
ICML 2017; Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError
from .base import Explainer, normalise_nonnegative
from .gradcam import _class_score, _LogitModel, iter_layers

BASELINES = ("black", "blur")
DEFAULT_STEPS = 128
"""Integrated Gradients' default steps: the fewest whose completeness gap stays within 1% on
every calibration X-ray of ``benchmarks/gradient_counts.py`` (64 reach 1.5%; docs/speed.md)."""
DEFAULT_SAMPLES = 32
"""SmoothGrad's default noisy copies: the fewest whose map ranks pixels like 256 copies'
(median rank correlation 0.97) and keeps its top 10% (overlap 0.76; docs/speed.md)."""


class GradientExplainer(Explainer):
    """Base of the gradient methods: d(class score)/d(input) at many inputs, batched.

    Parameters
    ----------
    classifier
        The classifier to explain (any architecture: gradients reach the input of LSTMs too).
    batch_size
        Inputs per compiled gradient pass.
    seed
        Recorded; only SmoothGrad draws random numbers.
    """

    signed = True
    uses_seed = False
    batched = True
    scaled: ClassVar[bool] = False
    """Whether :meth:`_points` are model inputs (after the preprocessing's scaling and layout)
    rather than model-frame images in [0, 1]."""
    reduce: ClassVar[str] = "sum"
    """How channels become one map: ``"sum"`` (signed) or ``"max"`` of absolute values."""

    def __init__(self, classifier: Classifier, *, batch_size: int = 16, seed: int = 0,
                 **params: Any) -> None:
        if int(batch_size) < 1:
            raise ExplainerError(f"batch_size must be at least 1, got {batch_size}")
        super().__init__(classifier, seed=seed, **params, batch_size=int(batch_size))
        self._lock = threading.Lock()
        self._private: _LogitModel | None = None
        self._compiled: Any = None

    # ------------------------------------------------------------------ hooks
    def _points(self, x: np.ndarray) -> np.ndarray:
        """The inputs ``(m, ...)`` at which image ``x`` ``(h, w, c)`` needs the gradient."""
        return x[None]

    def _combine(self, x: np.ndarray, scores: np.ndarray,
                 grads: np.ndarray) -> tuple[np.ndarray, dict]:
        """Attributions ``(h, w, c)`` and extras from the scores ``(m,)`` and gradients at the
        points."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared work
    def _attribute(self, prepared: np.ndarray, target: int) -> tuple[np.ndarray, dict]:
        return self._attribute_many(prepared[None], [target])[0]

    def _attribute_many(self, prepared: np.ndarray,
                        targets: Sequence[int]) -> list[tuple[np.ndarray, dict]]:
        # in inference mode each input's score depends on that input only, so the gradient of
        # the summed scores is each input's own: the points of several images share a pass
        out: list[tuple[np.ndarray, dict]] = []
        group: list[tuple[np.ndarray, int, np.ndarray]] = []
        for x, t in zip(prepared, targets, strict=True):
            group.append((x, int(t), self._points(x)))
            if sum(len(p) for *_, p in group) >= 4 * self.params["batch_size"]:
                out += self._run_group(group)
                group = []
        return out + (self._run_group(group) if group else [])

    def _run_group(self, group: list) -> list[tuple[np.ndarray, dict]]:
        points = np.concatenate([p for *_, p in group]).astype(np.float32)
        owners = np.concatenate([np.full(len(p), t, np.int32) for _, t, p in group])
        scores, grads = self._gradients(points, owners)
        out, start = [], 0
        for x, _, p in group:
            end = start + len(p)
            attr, extras = self._combine(x, scores[start:end], grads[start:end])
            if self.reduce == "max":
                heat, extras["flat"] = normalise_nonnegative(np.abs(attr).max(axis=-1))
            else:
                heat = attr.sum(axis=-1)
            out.append((heat, extras))
            start = end
        return out

    def _gradients(self, points: np.ndarray,
                   targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class scores ``(m,)`` and their gradients with respect to ``points``, float64."""
        clf = self.classifier
        with self._lock:  # the private clone is built once per model
            if self._private is None or self._private.source is not clf.model:
                # any layer: gradient methods capture no layer's output (Grad-CAM does)
                first = next(iter_layers(clf.model))
                self._private = _LogitModel(clf, first, method=self.title)
                self._compiled = _compile_gradient(clf, self._private, self.scaled)
            fn = self._compiled
        b = self.params["batch_size"]
        parts = [fn(points[i:i + b], targets[i:i + b]) for i in range(0, len(points), b)]
        return (np.concatenate([np.asarray(s, np.float64) for s, _ in parts]),
                np.concatenate([np.asarray(g, np.float64) for _, g in parts]))


class Saliency(GradientExplainer):
    """Saliency: the absolute gradient of the class score, maximum over channels, scaled to
    [0, 1]. Same parameters as :class:`GradientExplainer`."""

    name = "saliency"
    title = "Saliency"
    signed = False
    reduce = "max"

    def _combine(self, x: np.ndarray, scores: np.ndarray,
                 grads: np.ndarray) -> tuple[np.ndarray, dict]:
        return np.abs(grads[0]), {}


class InputXGradient(GradientExplainer):
    """Input x Gradient: the model-frame image times the gradient (signed, summed over
    channels). Same parameters as :class:`GradientExplainer`."""

    name = "input_x_gradient"
    title = "Input x Gradient"

    def _combine(self, x: np.ndarray, scores: np.ndarray,
                 grads: np.ndarray) -> tuple[np.ndarray, dict]:
        return x * grads[0], {}


class IntegratedGradients(GradientExplainer):
    """Integrated Gradients: (image - baseline) times the gradient averaged along the path.

    The path is the straight line between the baseline and the image *as the model sees them*
    (after the preprocessing's scaling), integrated with the trapezoidal rule. For every
    pixel-wise scaling this is the same as the line between the model-frame images; under
    per-image standardisation (the bundled model) every scaled copy of an image looks the same
    to the model, and only this line changes the score.

    Parameters
    ----------
    classifier
        The classifier to explain.
    steps
        Intervals of the path (``steps + 1`` gradients per image).
    baseline
        ``"black"`` (zeros) or ``"blur"`` (a Gaussian blur of the image).
    blur_sigma
        The blur's standard deviation, as a fraction of the model frame's shorter side.
    batch_size
        Inputs per compiled gradient pass.

    Notes
    -----
    ``extras["completeness_gap"]`` is ``|sum(attributions) - (f(x) - f(baseline))|`` relative
    to ``|f(x) - f(baseline)|`` (absolute below 1e-6), ``f`` the class score: large values mean
    too few steps.
    """

    name = "integrated_gradients"
    title = "Integrated Gradients"
    scaled = True

    def __init__(self, classifier: Classifier, *, steps: int = DEFAULT_STEPS,
                 baseline: str = "black", blur_sigma: float = 0.1, batch_size: int = 16,
                 seed: int = 0) -> None:
        if int(steps) < 1:
            raise ExplainerError(f"Integrated Gradients needs steps >= 1, got {steps}")
        if baseline not in BASELINES:
            raise ExplainerError(f"unknown baseline {baseline!r}; use {' or '.join(BASELINES)}")
        if not float(blur_sigma) > 0:
            raise ExplainerError(f"blur_sigma must be positive, got {blur_sigma}")
        super().__init__(classifier, steps=int(steps), baseline=baseline,
                         blur_sigma=float(blur_sigma), batch_size=batch_size, seed=seed)
        self._alphas = np.linspace(0.0, 1.0, int(steps) + 1)
        self._weights = np.full(int(steps) + 1, 1.0 / int(steps))
        self._weights[[0, -1]] /= 2.0

    def _ends(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The baseline's and the image's model inputs."""
        if self.params["baseline"] == "blur":
            import cv2

            sigma = self.params["blur_sigma"] * min(x.shape[:2])
            base = cv2.GaussianBlur(x, (0, 0), sigmaX=sigma).reshape(x.shape)
        else:
            base = np.zeros_like(x)
        z = self.classifier.preprocessing.to_model_input(np.stack([base, x]).astype(np.float32))
        z = np.asarray(z, np.float64)
        return z[0], z[1]

    def _points(self, x: np.ndarray) -> np.ndarray:
        zb, z = self._ends(x)
        return (zb + self._alphas.reshape(-1, *[1] * zb.ndim) * (z - zb)).astype(np.float32)

    def _combine(self, x: np.ndarray, scores: np.ndarray,
                 grads: np.ndarray) -> tuple[np.ndarray, dict]:
        zb, z = self._ends(x)
        attr = (z - zb) * np.tensordot(self._weights, grads, axes=1)
        total, diff = float(attr.sum()), float(scores[-1] - scores[0])
        gap = abs(total - diff) / max(abs(diff), 1e-6)
        pre = self.classifier.preprocessing
        attr = attr.reshape(pre.image_shape)  # undo the "rows" layout
        if pre.scaling == "caffe":  # undo its RGB -> BGR
            attr = attr[..., ::-1]
        return attr, {"completeness_gap": gap, "sum": total, "score_difference": diff}


class SmoothGrad(GradientExplainer):
    """SmoothGrad: another gradient method averaged over noisy copies of the image.

    Parameters
    ----------
    classifier
        The classifier to explain.
    samples
        Noisy copies per image.
    noise
        Standard deviation of the Gaussian noise, as a fraction of the image's range
        (``max - min`` of the model-frame image).
    base
        The method averaged: ``"saliency"`` (the default; absolute gradients, as captum's
        NoiseTunnel over Saliency), ``"input_x_gradient"`` or ``"integrated_gradients"``
        (``samples * (steps + 1)`` gradients per image).
    steps, baseline
        Integrated Gradients' parameters, when it is the ``base``.
    batch_size
        Inputs per compiled gradient pass.
    seed
        Seeds the noise: the same seed gives the same map, alone or in a batch.
    """

    name = "smoothgrad"
    title = "SmoothGrad"
    uses_seed = True

    def __init__(self, classifier: Classifier, *, samples: int = DEFAULT_SAMPLES,
                 noise: float = 0.15, base: str = "saliency", steps: int = 16,
                 baseline: str = "black", batch_size: int = 16, seed: int = 0) -> None:
        bases = {c.name: c for c in (Saliency, InputXGradient, IntegratedGradients)}
        if base not in bases:
            raise ExplainerError(f"unknown SmoothGrad base {base!r}; use {', '.join(bases)}")
        if int(samples) < 1 or not 0.0 <= float(noise):
            raise ExplainerError(f"SmoothGrad needs samples >= 1 and noise >= 0, got {samples} "
                                 f"and {noise}")
        ig = {"steps": steps, "baseline": baseline} if base == IntegratedGradients.name else {}
        self.base = bases[base](classifier, batch_size=batch_size, **ig)
        super().__init__(classifier, samples=int(samples), noise=float(noise), base=base,
                         **{k: self.base.params[k] for k in ig}, batch_size=batch_size,
                         seed=seed)
        self.signed, self.reduce, self.scaled = self.base.signed, self.base.reduce, self.base.scaled

    def with_classifier(self, classifier: Classifier) -> SmoothGrad:
        """A copy (same parameters and seed) that explains ``classifier``."""
        new = super().with_classifier(classifier)
        new.base = self.base.with_classifier(classifier)
        return new

    def _noisy(self, x: np.ndarray) -> np.ndarray:
        # one generator per image: its noise is the same alone or in a batch
        rng = np.random.default_rng(self.seed)
        std = self.params["noise"] * (float(x.max() - x.min()) or 1.0)
        return (x + rng.normal(0.0, std, (self.params["samples"], *x.shape))).astype(np.float32)

    def _points(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([self.base._points(n) for n in self._noisy(x)])

    def _combine(self, x: np.ndarray, scores: np.ndarray,
                 grads: np.ndarray) -> tuple[np.ndarray, dict]:
        k = len(scores) // self.params["samples"]
        parts = [self.base._combine(n, scores[i * k:(i + 1) * k], grads[i * k:(i + 1) * k])
                 for i, n in enumerate(self._noisy(x))]
        extras = {key: float(np.mean([e[key] for _, e in parts])) for key in parts[0][1]}
        return np.mean([a for a, _ in parts], axis=0), extras


def _compile_gradient(classifier: Classifier, private: _LogitModel, scaled: bool) -> Any:
    """``f(inputs, targets) -> (scores, d scores / d inputs)`` as one ``tf.function``."""
    import tensorflow as tf

    pre = classifier.preprocessing
    shape = pre.image_shape
    if scaled:
        shape = tuple(pre.to_model_input(np.zeros((1, *shape), np.float32)).shape[1:])

    def gradient(inputs: Any, targets: Any) -> tuple[Any, Any]:
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            out = private(inputs if scaled else pre.to_model_input(inputs))
            scores = _class_score(classifier, out, targets, private.has_logits)
            total = tf.reduce_sum(scores)
        grads = tape.gradient(total, inputs,
                              unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return scores, grads

    return tf.function(gradient, reduce_retracing=True, input_signature=[
        tf.TensorSpec((None, *shape), tf.float32), tf.TensorSpec((None,), tf.int32)])
