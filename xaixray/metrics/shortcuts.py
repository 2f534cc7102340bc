"""Is the map looking at the patient? Attribution in the image border and outside the body.

A classifier can learn shortcuts: text markers, the edge of the film, the framing of the image,
devices outside the chest. Two numbers flag maps that put their weight there:

- **border share**: the share of the map's positive attribution that lies in the outer band of
  the image (``band`` = 8% of the height at the top and bottom, 8% of the width at each side,
  29% of the area). An even map scores about 0.29.
- **outside-body share**: the share that lies outside the body. The body is found with
  scikit-image: Otsu's threshold on the lightly smoothed image, the largest connected bright
  region (the torso), and its convex hull, so that the dark lungs inside count as body. What is
  left is background, the arms and shoulders' outer parts, text markers and the film's edge. An
  even map scores the area outside the body.

Both are computed on a grid of at most 256 px on the longer side. They describe where the *map*
points; a high share is a reason to look at the image and the model, not proof of a shortcut.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..anatomy import body_mask, grid_shape
from ..imaging import resize_map

BAND = 0.08
BORDER_WARN = 0.5
OUTSIDE_WARN = 0.25
ENRICHMENT_WARN = 1.5


def border_band(shape: tuple[int, int], band: float = BAND) -> np.ndarray:
    """Boolean ``(H, W)`` mask of the outer band: ``band`` of the height/width on each side."""
    if not 0 < band < 0.5:
        raise ValueError(f"band must be in (0, 0.5), got {band}")
    h, w = shape
    bh, bw = max(1, round(band * h)), max(1, round(band * w))
    inner = np.zeros((h, w), bool)
    inner[bh:h - bh, bw:w - bw] = True
    return ~inner


def positive_share(heatmap: np.ndarray, region: np.ndarray) -> float | None:
    """Share of a map's positive attribution inside a boolean region of the same shape.

    ``None`` when nothing is positive.
    """
    h = np.clip(np.nan_to_num(np.asarray(heatmap, np.float64)), 0.0, None)
    total = float(h.sum())
    if total <= 0:
        return None
    return float(h[np.asarray(region, bool)].sum() / total)


def border_share(heatmap: np.ndarray, band: float = BAND) -> float | None:
    """Share of the positive attribution in the outer ``band`` of the image (0 to 1)."""
    h = _on_grid(heatmap)
    return positive_share(h, border_band(h.shape, band))


def outside_body_share(heatmap: np.ndarray, image: np.ndarray,
                       body: np.ndarray | None = None) -> float | None:
    """Share of the positive attribution outside the body (:func:`body_mask` of ``image``).

    ``heatmap`` and ``image`` are in the same frame; ``body`` may be given precomputed (any
    frame).
    """
    h = _on_grid(heatmap)
    body = body_mask(image) if body is None else np.asarray(body, bool)
    return positive_share(h, ~resize_map(body, h.shape, nearest=True))


def shortcut_shares(heatmap: np.ndarray, image: np.ndarray, band: float = BAND,
                    body: np.ndarray | None = None) -> dict[str, Any]:
    """Border and outside-body shares of one map, with the areas an even map would score.

    Returns
    -------
    dict
        ``border_share``, ``border_area``, ``outside_body_share``, ``outside_body_area``
        (shares are ``None`` when nothing in the map is positive).
    """
    h = _on_grid(heatmap)
    body = body_mask(image) if body is None else np.asarray(body, bool)
    body = resize_map(body, h.shape, nearest=True)
    band_mask = border_band(h.shape, band)
    return {"border_share": positive_share(h, band_mask),
            "border_area": float(band_mask.mean()),
            "outside_body_share": positive_share(h, ~body),
            "outside_body_area": float((~body).mean())}


def shortcut_warnings(shares: dict[str, Any], method: str = "the map",
                      border_warn: float = BORDER_WARN, outside_warn: float = OUTSIDE_WARN,
                      enrichment: float = ENRICHMENT_WARN) -> list[str]:
    """Plain-language warnings when a map's border or outside-body share is high.

    High means at least ``border_warn`` (half) of the positive weight in the border band, or at
    least ``outside_warn`` (a quarter) outside the body; in both cases also at least
    ``enrichment`` (1.5) times the share an even map would have there (the region's area).
    """
    out = []
    b, o = shares.get("border_share"), shares.get("outside_body_share")
    b_area = shares.get("border_area") or 0.0
    o_area = shares.get("outside_body_area") or 0.0
    if b is not None and b >= border_warn and b >= enrichment * b_area:
        out.append(f"{method} puts {b:.0%} of its positive weight in the outer border of the "
                   f"image ({shares.get('border_area', 0):.0%} of its area): the model may be "
                   "using the framing, edges or markers rather than the lungs.")
    if o is not None and o >= outside_warn and o >= enrichment * o_area:
        out.append(f"{method} puts {o:.0%} of its positive weight outside the body "
                   f"({shares.get('outside_body_area', 0):.0%} of the image): the model may "
                   "be using the background, labels or devices rather than the patient.")
    return out


def _on_grid(heatmap: np.ndarray) -> np.ndarray:
    h = np.nan_to_num(np.asarray(heatmap, np.float32))
    if h.ndim != 2:
        raise ValueError(f"a heatmap must be 2-D (height, width), got shape {h.shape}")
    return resize_map(h, grid_shape(h.shape))
