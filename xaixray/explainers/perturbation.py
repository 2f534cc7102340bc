"""Occlusion and RISE: maps from how the class score changes when parts of the image are hidden.

Both need forward passes only, so they work for every model (row-LSTMs included). The hidden
pixels take a fill (:mod:`.masking`: a blur by default, as SHAP's), and the masked copies are made
inside the compiled forward pass (:meth:`~xaixray.Classifier.predict_masked_prepared`).

References: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014;
Petsiuk, Das and Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box Models",
BMVC 2018.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError
from .base import DEFAULT_OUTPUT, Explainer, check_output
from .masking import check_fill, fill_image, frame_pixels, masked_scores


class Occlusion(Explainer):
    """Occlusion: slide a patch over the image and record how much the class score drops.

    Parameters
    ----------
    classifier
        The classifier to explain (any architecture).
    patch
        The patch side: pixels of the model frame (an integer) or a fraction of its shorter
        side. 1/8 (16 px of the bundled model's 128): about a lung segment, between the
        rib-scale detail the model cannot resolve alone and the whole-lobe scale where
        everything is hidden at once.
    stride
        The step between patches, in pixels or as a fraction; 1/32 (4 px of 128: 29 x 29 = 841
        patches), the largest stride whose map matches one with 4x the patches (2 px) by the
        rule used for LIME and SHAP: median rank correlation 0.985, top-10% overlap 0.85 on six
        calibration X-rays; at 8 px 0.94 and 0.68, at 16 px 0.79 and 0.51
        (``benchmarks/perturbation_counts.py``, docs/speed.md).
    fill
        What the patch becomes: ``"blur"`` (default, as SHAP's masker), ``"mean"`` or
        ``"black"``.
    output
        The score: the target's ``"probability"`` or its ``"logit"`` (log-odds).
    batch_size
        Occluded copies per forward pass.
    seed
        Recorded only; occlusion is deterministic.

    Notes
    -----
    The map is signed: each pixel gets the mean drop ``f(image) - f(occluded)`` over the patches
    that cover it (positive: hiding it lowers the score).
    """

    name = "occlusion"
    title = "Occlusion"
    signed = True
    uses_seed = False

    def __init__(self, classifier: Classifier, *, patch: float = 0.125, stride: float = 1 / 32,
                 fill: str = "blur", output: str = DEFAULT_OUTPUT, batch_size: int = 64,
                 seed: int = 0) -> None:
        side = min(classifier.preprocessing.image_shape[:2])
        self.patch = frame_pixels(patch, side, "patch")
        self.stride = frame_pixels(stride, side, "stride")
        super().__init__(classifier, seed=seed, patch=patch, stride=stride,
                         patch_pixels=self.patch, stride_pixels=self.stride,
                         fill=check_fill(fill), output=check_output(output),
                         batch_size=int(batch_size))

    def _attribute(self, prepared: np.ndarray, target: int) -> tuple[np.ndarray, dict]:
        p = self.params
        h, w = prepared.shape[:2]
        rows = _starts(h, min(self.patch, h), self.stride)
        cols = _starts(w, min(self.patch, w), self.stride)
        ph, pw = min(self.patch, h), min(self.patch, w)
        boxes = [(r, c) for r in rows for c in cols]
        fill = fill_image(prepared, p["fill"])
        whole = masked_scores(self.classifier, prepared, fill, np.ones((1, h, w), bool), target,
                              p["output"], 1)[0]
        drops = np.zeros((h, w), np.float64)
        counts = np.zeros((h, w), np.float64)
        size = p["batch_size"]
        for i in range(0, len(boxes), size):
            chunk = boxes[i:i + size]
            keep = np.ones((len(chunk), h, w), bool)
            for j, (r, c) in enumerate(chunk):
                keep[j, r:r + ph, c:c + pw] = False
            scores = masked_scores(self.classifier, prepared, fill, keep, target, p["output"],
                                   size)
            for (r, c), s in zip(chunk, scores):
                drops[r:r + ph, c:c + pw] += whole - s
                counts[r:r + ph, c:c + pw] += 1.0
        heat = drops / np.maximum(counts, 1.0)
        return heat.astype(np.float32), {"patches": len(boxes), "score": float(whole)}


class RISE(Explainer):
    """RISE: the average of random masks, each weighted by the class score it leaves.

    Parameters
    ----------
    classifier
        The classifier to explain (any architecture).
    masks
        Number of random masks (forward passes). 2000: against 8000 masks of another seed, on
        six calibration X-rays, its map ranks pixels alike (median rank correlation 0.96) but
        its top 10% of pixels only partly agree (median overlap 0.61, short of the 0.7 that
        LIME's and SHAP's counts meet; 1000 masks: 0.93 and 0.49). ``benchmarks/
        perturbation_counts.py``, docs/speed.md.
    cells
        The masks' grid: ``cells x cells`` random cells, upsampled (bilinear) to the frame with
        a random shift of up to one cell, as in the paper (which used 7).
    p
        Probability that a cell is kept (0.5, the paper's).
    fill
        What hidden pixels become: ``"blur"`` (default, as SHAP's masker), ``"mean"`` or
        ``"black"`` (the paper's image times mask).
    output
        The score: the target's ``"logit"`` (log-odds, default) or its ``"probability"``. With
        probabilities the bundled model's masked copies are mostly saturated and 2000 masks
        match 8000 far less (median rank correlation 0.78, top overlap 0.37).
    batch_size
        Masked copies per forward pass (the masks are drawn batch by batch, so memory stays
        small for any ``masks``).
    seed
        Seeds the masks: the same seed gives the same map, and the same masks for every image.

    Notes
    -----
    The paper's map is ``sum_i f(image masked by M_i) M_i / (masks * p)``: for each pixel,
    about the mean score of the masked copies that keep it, with an offset near the mean score.
    What matters is its variation, so the heatmap is that map scaled from its lowest value (0)
    to its highest (1), as the paper draws it; ``extras["raw_min"]`` and ``["raw_max"]`` keep
    the range.
    """

    name = "rise"
    title = "RISE"
    signed = False

    def __init__(self, classifier: Classifier, *, masks: int = 2000, cells: int = 8,
                 p: float = 0.5, fill: str = "blur", output: str = "logit",
                 batch_size: int = 64, seed: int = 0) -> None:
        if int(masks) < 1:
            raise ExplainerError(f"RISE needs masks >= 1, got {masks}")
        if int(cells) < 1:
            raise ExplainerError(f"RISE needs cells >= 1, got {cells}")
        if not 0.0 < float(p) < 1.0:
            raise ExplainerError(f"RISE needs 0 < p < 1, got {p}")
        super().__init__(classifier, seed=seed, masks=int(masks), cells=int(cells), p=float(p),
                         fill=check_fill(fill), output=check_output(output),
                         batch_size=int(batch_size))

    def _attribute(self, prepared: np.ndarray, target: int) -> tuple[np.ndarray, dict]:
        prm = self.params
        h, w = prepared.shape[:2]
        fill = fill_image(prepared, prm["fill"])
        total = np.zeros((h, w), np.float64)
        for masks in rise_masks(prm["masks"], (h, w), prm["cells"], prm["p"], self.seed,
                                prm["batch_size"]):
            scores = masked_scores(self.classifier, prepared, fill, masks, target,
                                   prm["output"], prm["batch_size"])
            total += np.tensordot(scores, masks, axes=1)
        raw = total / (prm["masks"] * prm["p"])
        low, high = float(raw.min()), float(raw.max())
        heat = (raw - low) / (high - low) if high > low else np.zeros_like(raw)
        return heat.astype(np.float32), {"raw_min": low, "raw_max": high,
                                         "flat": not high > low}


def rise_masks(n: int, shape: tuple[int, int], cells: int, p: float, seed: int,
               batch: int) -> Iterator[np.ndarray]:
    """RISE's random soft masks, ``batch`` at a time, float32 ``(b, h, w)`` in [0, 1].

    Each mask: a ``cells x cells`` grid of cells kept with probability ``p``, upsampled
    bilinearly to ``(cells + 1)`` cells' size, and cropped to ``shape`` at a random offset of
    less than one cell (Petsiuk et al. 2018). The same ``seed`` gives the same masks, whatever
    ``batch``.
    """
    import cv2

    h, w = shape
    ch, cw = -(-h // cells), -(-w // cells)
    big = ((cells + 1) * ch, (cells + 1) * cw)
    rng = np.random.default_rng(seed)  # every draw up front: the masks do not depend on batch
    grids = (rng.random((n, cells, cells)) < p).astype(np.float32)
    dy, dx = rng.integers(0, ch, n), rng.integers(0, cw, n)
    for start in range(0, n, batch):
        out = np.empty((min(batch, n - start), h, w), np.float32)
        for j, i in enumerate(range(start, start + len(out))):
            up = cv2.resize(grids[i], (big[1], big[0]), interpolation=cv2.INTER_LINEAR)
            out[j] = up[dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        yield out


def _starts(size: int, patch: int, stride: int) -> list[int]:
    """Patch offsets from 0 by ``stride``, plus one flush with the far edge."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] + patch < size:
        starts.append(size - patch)
    return starts
