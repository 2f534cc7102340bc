"""HiResCAM, Layer-CAM and Score-CAM: Grad-CAM's relatives, each overriding one hook.

They reuse :class:`~xaixray.explainers.gradcam.GradCAM`'s layer search, nested-model handling,
private logit clone and lock; only the weighting of the feature map differs:

- HiResCAM weights each element of the feature map by its own gradient (Grad-CAM averages the
  gradient over the map first);
- Layer-CAM weights each element by its positive gradient, which stays meaningful in earlier,
  finer layers, and can fuse the maps of several layers;
- Score-CAM uses no gradient: each channel, upsampled and scaled to [0, 1], masks the input, and
  the class score of each masked copy (one compiled forward pass per batch of channels) is that
  channel's weight.

References: Draelos and Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of
convolutional neural networks", arXiv:2011.08891, 2020; Jiang et al., "LayerCAM: Exploring
Hierarchical Class Activation Maps for Localization", IEEE TIP 2021; Wang et al., "Score-CAM:
Score-Weighted Visual Explanations for Convolutional Neural Networks", CVPR Workshops 2020.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError
from ..imaging import resize_map
from .base import check_output, normalise_nonnegative
from .gradcam import GradCAM, find_target_layer
from .masking import check_fill, fill_image, masked_scores

COMBINE = ("max", "mean")


class HiResCAM(GradCAM):
    """HiResCAM: the feature map times its gradient, element by element, summed over channels.

    For a model whose last feature map is global-average-pooled into a linear layer this is
    exactly the class activation map (CAM, Zhou et al. 2016). Same parameters as
    :class:`~xaixray.explainers.GradCAM`.
    """

    name = "hirescam"
    title = "HiResCAM"

    def _channel_weights(self, fmap: np.ndarray, grads: np.ndarray) -> np.ndarray:
        return grads


class LayerCAM(GradCAM):
    """Layer-CAM: the feature map times its positive gradient, element by element.

    Parameters
    ----------
    classifier
        The classifier to explain. It needs a convolutional layer.
    layer
        The layer to use (default: Grad-CAM's, the last feature map). An earlier layer gives a
        finer map. A comma-separated list (``"block4_relu2,block5_relu2"``) is read as
        ``layers``.
    layers
        Several layers whose maps are fused: each layer's map is scaled to [0, 1], passed
        through ``tanh(gamma * map)`` (Jiang et al. 2021, Eq. 8, so that the weaker maps of
        shallow layers count), upsampled to the model frame, and fused by ``combine``.
    combine
        ``"max"`` (element-wise maximum, default) or ``"mean"``.
    gamma
        The scaling before fusing (2, as in the paper); unused for one layer.
    seed
        Recorded only; Layer-CAM is deterministic.
    """

    name = "layercam"
    title = "Layer-CAM"

    def __init__(self, classifier: Classifier, *, layer: str | None = None,
                 layers: Sequence[str] | str | None = None, combine: str = "max",
                 gamma: float = 2.0, seed: int = 0) -> None:
        names = _layer_names(layer, layers)
        if combine not in COMBINE:
            raise ExplainerError(f"unknown combine {combine!r}; use {' or '.join(COMBINE)}")
        super().__init__(classifier, layer=names[0] if names else None, seed=seed)
        self.layers = [find_target_layer(classifier.model, n) for n in names] or \
            [self.target_layer]
        self.params.update(layers=[la.name for la in self.layers], combine=combine,
                           gamma=float(gamma))

    def with_classifier(self, classifier: Classifier) -> LayerCAM:
        """A copy that explains ``classifier`` at the layers of the same names."""
        new = super().with_classifier(classifier)
        new.layers = [find_target_layer(classifier.model, n) for n in self.params["layers"]]
        return new

    def _channel_weights(self, fmap: np.ndarray, grads: np.ndarray) -> np.ndarray:
        return np.maximum(grads, 0.0)

    def _attribute_many(self, prepared: np.ndarray,
                        targets: Sequence[int]) -> list[tuple[np.ndarray, dict]]:
        if len(self.layers) == 1:
            return super()._attribute_many(prepared, targets)
        per_layer = self._maps_and_gradients(prepared, targets, self.layers)
        gamma, combine = self.params["gamma"], self.params["combine"]
        out = []
        for i in range(len(prepared)):
            maps = []
            for fmaps, grads in per_layer:
                cam = np.maximum((fmaps[i] * self._channel_weights(fmaps[i], grads[i])).sum(-1),
                                 0.0)
                cam = np.tanh(gamma * normalise_nonnegative(cam)[0])
                maps.append(resize_map(cam.astype(np.float32), prepared.shape[1:3]))
            fused = np.max(maps, axis=0) if combine == "max" else np.mean(maps, axis=0)
            fused, flat = normalise_nonnegative(fused)
            shapes = [list(f.shape[1:]) for f, _ in per_layer]
            extras = {"layer": self.layers[-1].name, "layers": [la.name for la in self.layers],
                      "feature_shape": max(shapes, key=lambda s: s[0] * s[1]),
                      "feature_shapes": shapes, "flat": flat}
            out.append((fused.clip(0.0, 1.0), extras))
        return out


class ScoreCAM(GradCAM):
    """Score-CAM: channels weighted by the class score of the input masked by each channel.

    Parameters
    ----------
    classifier
        The classifier to explain. It needs a convolutional layer.
    layer
        As for :class:`~xaixray.explainers.GradCAM`.
    weights
        ``"softmax"`` (default: a softmax over channels of the masked copies' scores, as
        pytorch-grad-cam does) or ``"increase"`` (the paper's Eq. 3: each masked copy's score
        minus that of the fully hidden input). The bundled model reads a fully hidden X-ray
        (black, blurred or mean) as PNEUMONIA with p > 0.98, so every channel's increase is
        negative and ``"increase"`` gives flat maps there; with ``"softmax"`` over log-odds the
        maps rank pixels like Grad-CAM's (Spearman 0.91-0.96 on three sample X-rays).
    max_channels
        Use at most this many channels, those with the largest mean activation (the others get
        weight 0; ``extras["channels_used"]``); ``None`` for all. 512 keeps ResNet50's 2048
        channels to a quarter of the passes; the bundled model has 256.
    fill
        What masked-out pixels become: ``"blur"`` (default, as SHAP's masker), ``"mean"`` or
        ``"black"`` (the image times the mask, as in the paper).
    output
        The score: the target's ``"logit"`` (log-odds, default: a softmax over probabilities
        near 1 weights every channel alike) or its ``"probability"``.
    batch_size
        Masked copies per forward pass.
    seed
        Recorded only; Score-CAM is deterministic.
    """

    name = "scorecam"
    title = "Score-CAM"
    batched = False

    def __init__(self, classifier: Classifier, *, layer: str | None = None,
                 weights: str = "softmax", max_channels: int | None = 512,
                 fill: str = "blur", output: str = "logit", batch_size: int = 64,
                 seed: int = 0) -> None:
        if weights not in ("increase", "softmax"):
            raise ExplainerError(f"unknown Score-CAM weights {weights!r}; use increase or "
                                 "softmax")
        if max_channels is not None and int(max_channels) < 1:
            raise ExplainerError(f"max_channels must be at least 1, got {max_channels}")
        super().__init__(classifier, layer=layer, seed=seed)
        self.params.update(weights=weights,
                           max_channels=None if max_channels is None else int(max_channels),
                           fill=check_fill(fill), output=check_output(output),
                           batch_size=int(batch_size))

    def _attribute(self, prepared: np.ndarray, target: int) -> tuple[np.ndarray, dict]:
        p = self.params
        [(fmaps, _)] = self._maps_and_gradients(prepared[None], [target], [self.target_layer],
                                                gradients=False)
        fmap = fmaps[0]
        channels = _strongest_channels(fmap, p["max_channels"])
        fill = fill_image(prepared, p["fill"])
        h, w = prepared.shape[:2]
        base = masked_scores(self.classifier, prepared, fill, np.zeros((1, h, w), np.float32),
                             target, p["output"], 1)[0]
        scores = np.concatenate([
            masked_scores(self.classifier, prepared, fill, _channel_masks(fmap, chunk, (h, w)),
                          target, p["output"], p["batch_size"])
            for chunk in np.array_split(channels, max(1, -(-len(channels) // p["batch_size"])))])
        if p["weights"] == "increase":
            weights = scores - base
        else:
            weights = np.exp(scores - scores.max())
            weights /= weights.sum()
        cam = np.maximum((fmap[..., channels] * weights).sum(axis=-1), 0.0)
        cam, flat = normalise_nonnegative(cam)
        extras = {"layer": self.target_layer.name, "feature_shape": list(fmap.shape),
                  "channels_used": len(channels), "baseline_score": float(base), "flat": flat}
        return resize_map(cam, (h, w)).clip(0.0, 1.0), extras


def _layer_names(layer: str | None, layers: Sequence[str] | str | None) -> list[str]:
    if layer is not None and layers is not None:
        raise ExplainerError("give layer= or layers=, not both")
    given = layers if layers is not None else layer
    if given is None:
        return []
    names = given.split(",") if isinstance(given, str) else list(given)
    names = [str(n).strip() for n in names if str(n).strip()]
    if not names:
        raise ExplainerError("layers= is empty")
    return names


def _strongest_channels(fmap: np.ndarray, limit: int | None) -> np.ndarray:
    """Channel indices, all of them or the ``limit`` with the largest mean activation (in
    their original order)."""
    k = fmap.shape[-1]
    if limit is None or k <= limit:
        return np.arange(k)
    strength = fmap.mean(axis=(0, 1))
    return np.sort(np.argsort(-strength, kind="stable")[:limit])


def _channel_masks(fmap: np.ndarray, channels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``(len(channels), h, w)`` float32 soft masks: each channel upsampled (bilinear) and
    min-max scaled to [0, 1] (a constant channel gives an all-zero mask)."""
    out = np.zeros((len(channels), *shape), np.float32)
    for i, c in enumerate(channels):
        up = resize_map(fmap[..., c].astype(np.float32), shape)
        lo, hi = float(up.min()), float(up.max())
        if hi > lo:
            out[i] = (up - lo) / (hi - lo)
    return out
