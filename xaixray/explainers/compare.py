"""Summaries of one heatmap and agreement between two.

Cheap by design: agreement is computed on a common downsampled grid (64x64 by default), so it
costs the same for a 224 px and a 2,900 px radiograph.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np

GRID = 64
TOP_FRACTION = 0.2


def _grid(heatmap: np.ndarray, grid: int) -> np.ndarray:
    import cv2

    h = np.asarray(heatmap, np.float32)
    if h.shape == (grid, grid):
        return h
    return cv2.resize(h, (grid, grid), interpolation=cv2.INTER_AREA)


def summarize_heatmap(heatmap: np.ndarray, grid: int = GRID) -> dict[str, Any]:
    """Where a heatmap points and how concentrated its positive part is.

    Returns
    -------
    dict
        ``peak`` ``[row, col]`` of the maximum in the heatmap's (original) frame (``None`` when
        nothing is positive; for a tied maximum, as in a LIME superpixel, the tied pixel closest to
        the ties' centroid); ``peak_value``;
        ``half_mass_area``: the smallest fraction of the image area that holds half the positive
        attribution (small = focused, ~0.5 = spread evenly; ``None`` when nothing is positive),
        computed on a ``grid`` x ``grid`` downsampling; ``positive_fraction``: share of the total
        absolute attribution that is positive.
    """
    h = np.asarray(heatmap, np.float64)
    if h.size == 0 or not np.isfinite(h).all():
        return {"peak": None, "peak_value": None, "half_mass_area": None,
                "positive_fraction": None}
    peak = peak_location(h)
    small = np.asarray(_grid(h, grid), np.float64)
    pos = np.sort(np.clip(small, 0, None).ravel())[::-1]
    total = pos.sum()
    half = None
    if total > 0:
        k = int(np.searchsorted(np.cumsum(pos), 0.5 * total)) + 1
        half = round(k / pos.size, 4)
    absolute = np.abs(small).sum()
    return {
        "peak": None if peak is None else [int(peak[0]), int(peak[1])],
        "peak_value": float(h.max()),
        "half_mass_area": half,
        "positive_fraction": round(float(np.clip(small, 0, None).sum() / absolute), 4)
        if absolute > 0 else None,
    }


def peak_location(heatmap: np.ndarray) -> tuple[int, int] | None:
    """``(row, col)`` of a map's maximum; ``None`` when nothing is positive.

    For a tied maximum (a LIME superpixel) the tied pixel closest to the ties' centroid.
    """
    h = np.asarray(heatmap, np.float64)
    top = float(h.max())
    if top <= 0:
        return None
    ties = np.argwhere(h == top)
    if len(ties) == 1:
        return int(ties[0][0]), int(ties[0][1])
    centre = ties.mean(axis=0)
    r, c = ties[int(np.argmin(((ties - centre) ** 2).sum(axis=1)))]
    return int(r), int(c)


def agreement(a: np.ndarray, b: np.ndarray, grid: int = GRID,
              top: float = TOP_FRACTION) -> dict[str, float | None]:
    """How much two heatmaps of the same image agree.

    Parameters
    ----------
    a, b
        Heatmaps in the same (original) frame, or any frames: both are resampled to the grid.
    grid
        Side of the common grid.
    top
        Fraction of grid cells in each map's "top" set.

    Returns
    -------
    dict
        ``spearman``: rank correlation of the two maps over the grid cells (``None`` if either is
        constant); ``top_overlap``: share of ``a``'s top-``top`` cells that are also among
        ``b``'s (symmetric; chance level is ``top``).
    """
    from scipy.stats import spearmanr

    x, y = _grid(a, grid).ravel(), _grid(b, grid).ravel()
    rho = None
    if np.ptp(x) > 0 and np.ptp(y) > 0:
        rho = float(spearmanr(x, y).statistic)
        rho = None if not np.isfinite(rho) else round(rho, 4)
    k = max(1, int(round(top * x.size)))
    top_x = set(np.argsort(-x, kind="stable")[:k].tolist())
    top_y = set(np.argsort(-y, kind="stable")[:k].tolist())
    return {"spearman": rho, "top_overlap": round(len(top_x & top_y) / k, 4)}


def compare(heatmaps: Mapping[str, np.ndarray], grid: int = GRID,
            top: float = TOP_FRACTION) -> list[dict[str, Any]]:
    """:func:`agreement` for every pair of named heatmaps, as a list of rows.

    Each row: ``{"methods": [m1, m2], "spearman": ..., "top_overlap": ...}``.
    """
    rows = []
    for m1, m2 in combinations(list(heatmaps), 2):
        rows.append({"methods": [m1, m2], **agreement(heatmaps[m1], heatmaps[m2], grid, top)})
    return rows
