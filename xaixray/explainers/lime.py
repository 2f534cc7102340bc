"""LIME on superpixels, through the ``lime`` package.

The image (model frame) is cut into ~50 SLIC superpixels computed on the grayscale image; random
subsets of superpixels are replaced by their mean intensity, the model scores every perturbed
image in large batches through :meth:`~xaixray.Classifier.predict_proba_prepared`, and lime fits
a locally weighted linear model whose coefficients are the superpixels' weights.

Reference: Ribeiro, Singh, Guestrin, "Why should I trust you?", KDD 2016.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError
from .base import DEFAULT_OUTPUT, Explainer, PreparedImage, check_output, is_gray

Segmentation = Callable[[np.ndarray], np.ndarray]
"""``f(gray (h, w) float in [0, 1]) -> int labels (h, w)``."""


def slic_segments(gray: np.ndarray, n_segments: int = 50, compactness: float = 0.1,
                  sigma: float = 1.0) -> np.ndarray:
    """SLIC superpixels of a grayscale image in [0, 1], labelled ``0..n-1``.

    ``compactness`` is on the scale of [0, 1] intensities: 0.1 follows anatomy (lung fields, ribs,
    heart border) while staying compact; ~1 gives a near-regular grid.
    """
    from skimage.segmentation import slic

    labels = slic(np.asarray(gray, np.float64), n_segments=n_segments, compactness=compactness,
                  sigma=sigma, channel_axis=None, start_label=0)
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape).astype(np.int32)


class LIME(Explainer):
    """LIME with SLIC superpixels.

    Parameters
    ----------
    classifier
        The classifier to explain (any architecture, LSTM ones included).
    num_samples
        Perturbed images scored by the model. 250 (lime's own default is 1000): on the bundled
        model the top superpixels are those of 4000 samples, and the weights rank alike
        (median rank correlation 0.97; ``benchmarks/sample_counts.py``, docs/speed.md).
    n_segments, compactness
        SLIC parameters (ignored when ``segmentation`` is given).
    segmentation
        A callable ``f(gray (h, w) in [0, 1]) -> labels (h, w)`` to use instead of SLIC.
    hide_color
        Value (in [0, 1]) that hidden superpixels take; ``None`` (default) uses each superpixel's
        mean, which stays closer to a real radiograph than black.
    batch_size
        Perturbed images per forward pass.
    kernel_width
        Width of lime's exponential proximity kernel (cosine distance).
    output
        What the linear model fits: ``"probability"`` of the target, or its ``"logit"``
        (log-odds, :meth:`~xaixray.Classifier.predict_log_odds_prepared`), which keeps
        differences between perturbed images visible where the probability saturates near 0 or 1.
    seed
        Seeds the perturbations and lime's regression: same seed, same explanation.
    """

    name = "lime"
    title = "LIME"
    signed = True

    def __init__(self, classifier: Classifier, *, num_samples: int = 250, n_segments: int = 50,
                 compactness: float = 0.1, segmentation: Segmentation | None = None,
                 hide_color: float | None = None, batch_size: int = 64,
                 kernel_width: float = 0.25, output: str = DEFAULT_OUTPUT,
                 seed: int = 0) -> None:
        if int(num_samples) < 10:
            raise ExplainerError(f"LIME needs num_samples >= 10, got {num_samples}")
        super().__init__(classifier, seed=seed, num_samples=int(num_samples),
                         n_segments=int(n_segments), compactness=float(compactness),
                         segmentation=_callable_name(segmentation), hide_color=hide_color,
                         batch_size=int(batch_size), kernel_width=float(kernel_width),
                         output=check_output(output))
        self.segmentation = segmentation
        from lime import lime_image  # noqa: F401 - imported once here, not in the first timing

    def _segments(self, gray: np.ndarray) -> np.ndarray:
        if self.segmentation is None:
            return slic_segments(gray, self.params["n_segments"], self.params["compactness"])
        labels = np.asarray(self.segmentation(gray))
        if labels.shape != gray.shape:
            raise ExplainerError(f"segmentation returned shape {labels.shape}, expected "
                                 f"{gray.shape}")
        return np.unique(labels, return_inverse=True)[1].reshape(labels.shape).astype(np.int32)

    def _attribute(self, prepared: np.ndarray, target: int) -> tuple[np.ndarray, dict]:
        p = self.params
        gray = is_gray(prepared)
        image = prepared[..., 0] if gray else prepared  # lime turns 2-D images into RGB itself
        segments = self._segments(prepared[..., 0] if gray else prepared.mean(axis=-1))
        channels = prepared.shape[-1]
        clf = self.classifier

        def classifier_fn(keep: np.ndarray, image: np.ndarray, fill: np.ndarray) -> np.ndarray:
            # lime's image and fill are RGB (it turns a 2-D image into RGB itself)
            image, fill = (np.asarray(a, np.float32).reshape(*a.shape[:2], -1) for a in
                           (image, fill))
            if image.shape[-1] != channels:
                image, fill = image[..., :1], fill[..., :1]
            return clf.predict_masked_prepared(image, fill, keep, p["output"], p["batch_size"])

        explainer = _lime_explainer(p["kernel_width"], self.seed)
        result = explainer.explain_instance(
            image.astype(np.float32), classifier_fn, labels=(target,), hide_color=p["hide_color"],
            top_labels=None, num_features=int(segments.max()) + 1,
            num_samples=p["num_samples"], batch_size=p["batch_size"],
            segmentation_fn=lambda _: segments, random_seed=self.seed)
        weights = {int(s): float(w) for s, w in result.local_exp[target]}
        heat = paint(segments, weights)
        extras = {"segments": segments, "weights": weights, "r2": float(result.score),
                  "intercept": float(result.intercept[target]),
                  "local_pred": float(np.ravel(result.local_pred)[0]),
                  "n_segments": int(segments.max()) + 1}
        return heat, extras

    def _to_original(self, heatmap: np.ndarray, extras: dict,
                     image: PreparedImage) -> tuple[np.ndarray, dict]:
        # outside a crop, segment -1: no superpixel, no weight
        segments = image.to_original(extras["segments"], self.classifier.preprocessing,
                                     nearest=True, outside=-1)
        return paint(segments, extras["weights"]), {**extras, "segments": segments}


def paint(segments: np.ndarray, weights: dict[int, float]) -> np.ndarray:
    """A ``float32`` map with each superpixel set to its weight (0 where none, and where the
    segment is negative: outside the part of the image the model sees)."""
    lut = np.zeros(int(segments.max()) + 2, np.float32)  # the last entry: segment -1
    for s, w in weights.items():
        if 0 <= s < lut.size - 1:
            lut[s] = w
    return lut[np.maximum(segments, -1)]


def _callable_name(fn: Any) -> str | None:
    if fn is None:
        return None
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _lime_explainer(kernel_width: float, seed: int) -> Any:
    """A ``LimeImageExplainer`` with vectorised, silent perturbation (same sampling as lime)."""
    from lime import lime_image

    class _Explainer(lime_image.LimeImageExplainer):
        def data_labels(self, image: np.ndarray, fudged_image: np.ndarray,
                        segments: np.ndarray, classifier_fn: Callable, num_samples: int,
                        batch_size: int = 10, **_: Any) -> tuple[np.ndarray, np.ndarray]:
            # lime's own loop builds each perturbed image with one comparison per hidden
            # superpixel and prints a progress bar; this draws the same random rows and hands
            # the model only the pixel masks (by table lookup): the images are made inside
            # the compiled forward pass (Classifier.predict_masked_prepared).
            n_features = np.unique(segments).shape[0]
            data = self.random_state.randint(0, 2, num_samples * n_features).reshape(
                (num_samples, n_features))
            data[0, :] = 1
            rows = data.astype(bool)
            labels = [np.asarray(classifier_fn(rows[i:i + 256][:, segments], image,
                                               fudged_image))
                      for i in range(0, num_samples, 256)]
            return data, np.concatenate(labels)

    return _Explainer(kernel_width=kernel_width, random_state=seed)
