"""Does the map point at a region known to matter? Pointing game, relevance mass, top-area IoU.

Given a mask of the region that carries the evidence (a lesion drawn by a radiologist, or the
opacity of a synthetic phantom, :func:`xaixray.data.make_phantoms`), three numbers say how well a
map finds it:

- **pointing game** (Zhang et al. 2018): a hit when the map's maximum lies inside the mask
  (optionally within ``tolerance`` pixels of it);
- **relevance mass** (Arras et al. 2022): the share of the map's positive attribution that lies
  inside the mask; a map spread evenly over the image scores the mask's share of the area;
- **top-area IoU**: intersection over union of the mask and the map's highest-ranked pixels, as
  many as the mask has (or a given fraction of the image).

These test the *map against the region*, and the model against it only through the map: a model
that relies on something else is shown, faithfully, pointing elsewhere.

User masks are PNG files beside the images: ``chest.jpeg`` has ``chest_mask.png``
(:func:`find_mask`, :func:`load_mask`); any non-zero pixel (above half the brightest) is inside.

References: Zhang, Bargal, Lin, Brandt, Shen, Sclaroff, "Top-down neural attention by excitation
backprop", IJCV 2018; Arras, Osman, Samek, "CLEVR-XAI: a benchmark dataset for the ground truth
evaluation of neural network explanations", Information Fusion 2022; Arun et al., "Assessing the
trustworthiness of saliency maps for localizing abnormalities in medical imaging", Radiology: AI
2021.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..data.inputs import MASK_SUFFIX, find_mask
from ..explainers import peak_location
from ..imaging import read_image, resize_map
from .perturbation import pixel_ranks

__all__ = ["MASK_SUFFIX", "find_mask", "load_mask", "localization", "mask_for", "pointing_game",
           "relevance_mass", "top_area_iou"]


def _mask_like(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m.max(axis=-1)
    if m.ndim != 2:
        raise ValueError(f"a mask must be 2-D (height, width), got shape {m.shape}")
    m = m.astype(bool) if m.dtype != bool else m
    return resize_map(m, shape, nearest=True) if m.shape != tuple(shape) else m


def _heat(heatmap: np.ndarray) -> np.ndarray:
    h = np.asarray(heatmap, np.float64)
    if h.ndim != 2:
        raise ValueError(f"a heatmap must be 2-D (height, width), got shape {h.shape}")
    return np.nan_to_num(h, nan=0.0, posinf=0.0, neginf=0.0)


def pointing_game(heatmap: np.ndarray, mask: np.ndarray, tolerance: int = 0) -> bool | None:
    """Whether the map's maximum falls inside the mask.

    Parameters
    ----------
    heatmap
        2-D map; the mask is resampled (nearest) to its shape.
    mask
        2-D boolean (or 0/non-zero) mask of the region.
    tolerance
        A hit also counts within this many pixels (Euclidean) of the mask (Zhang et al. used
        15 px at 224 px).

    Returns
    -------
    bool or None
        ``None`` when the mask is empty (nothing to point at). A map with nothing positive
        misses. For a tied maximum (a LIME superpixel) the tied pixel closest to the ties'
        centroid is the peak, as in the report's summary.
    """
    h = _heat(heatmap)
    m = _mask_like(mask, h.shape)
    if not m.any():
        return None
    if tolerance > 0:
        from scipy.ndimage import distance_transform_edt

        m = distance_transform_edt(~m) <= tolerance
    peak = peak_location(h)
    return False if peak is None else bool(m[peak])


def relevance_mass(heatmap: np.ndarray, mask: np.ndarray) -> float | None:
    """Share of the positive attribution that lies inside the mask (0 to 1).

    ``None`` when the mask is empty or nothing in the map is positive.
    """
    h = _heat(heatmap)
    m = _mask_like(mask, h.shape)
    pos = np.clip(h, 0.0, None)
    total = float(pos.sum())
    if not m.any() or total <= 0:
        return None
    return float(pos[m].sum() / total)


def top_area_iou(heatmap: np.ndarray, mask: np.ndarray, fraction: float | None = None,
                 seed: int = 0) -> float | None:
    """IoU of the mask and the map's top-ranked pixels.

    Parameters
    ----------
    fraction
        Share of the image taken from the top of the map; ``None`` takes as many pixels as the
        mask has, so that a perfect map scores 1.
    seed
        Orders ties (see :func:`~xaixray.metrics.perturbation.pixel_ranks`).

    Returns
    -------
    float or None
        ``None`` when the mask is empty.
    """
    h = _heat(heatmap)
    m = _mask_like(mask, h.shape)
    if not m.any():
        return None
    k = int(m.sum()) if fraction is None else int(round(float(fraction) * m.size))
    if not 0 < k <= m.size:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    top = pixel_ranks(h, seed) < k
    return float((top & m).sum() / (top | m).sum())


def localization(heatmap: np.ndarray, mask: np.ndarray, tolerance: int = 0,
                 fraction: float | None = None) -> dict[str, Any]:
    """All three: ``pointing_game``, ``relevance_mass``, ``top_area_iou``, plus ``mask_area``
    (the mask's share of the image: the relevance mass of an even map)."""
    h = _heat(heatmap)
    m = _mask_like(mask, h.shape)
    return {"pointing_game": pointing_game(h, m, tolerance),
            "relevance_mass": relevance_mass(h, m),
            "top_area_iou": top_area_iou(h, m, fraction),
            "mask_area": float(m.mean())}


def load_mask(path: str | os.PathLike, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A boolean mask from an image file: pixels above half the brightest value are inside.

    Works for 0/255 and 0/1 PNGs alike. ``shape`` ``(H, W)`` resamples it (nearest).

    Raises
    ------
    ImageError
        If the file cannot be read.
    """
    image = read_image(path)
    gray = image.max(axis=-1) if image.ndim == 3 else image
    top = int(gray.max())
    mask = gray > top / 2 if top > 0 else np.zeros(gray.shape, bool)
    if shape is not None and mask.shape != tuple(shape):
        mask = resize_map(mask, tuple(shape), nearest=True)
    return mask


def mask_for(image_path: str | os.PathLike,
             shape: tuple[int, int] | None = None) -> np.ndarray | None:
    """The image's mask (:func:`find_mask` + :func:`load_mask`), or ``None`` if it has none."""
    found = find_mask(image_path)
    return None if found is None else load_mask(found, shape)
