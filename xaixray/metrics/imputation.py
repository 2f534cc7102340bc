"""Noisy linear imputation (ROAD, Rong et al. 2022): removed pixels filled from their neighbours.

Removing pixels by a constant or a blur leaves a trace a model can read (the outline of what was
removed, or blur itself, which the bundled model reads as evidence for PNEUMONIA). ROAD fills each
removed pixel with the weighted mean of its eight neighbours (weight 1/6 for the four sharing an
edge, 1/12 for the four diagonal ones), every removed pixel at once: a sparse linear system whose
known pixels are its boundary, solved with SciPy's sparse direct solver. The fill is the smoothest
surface that meets the kept pixels, so it carries no information about the removed ones beyond
their surroundings; a little Gaussian noise (``noise``, on the [0, 1] scale) is added to the filled
pixels so that the imputed region is not perfectly smooth either.

A linear intensity ramp is its own imputation (every pixel is its neighbours' weighted mean), which
is how the tests check the solver. With no pixel kept there is no boundary: the fill is then the
image's mean.

Reference: Rong, Leemann, Borisov, Kasneci, Kasneci, "A consistent and efficient evaluation
strategy for attribution methods", ICML 2022.
"""

from __future__ import annotations

import numpy as np

from ..errors import ExplainerError

NOISE = 0.01
"""Standard deviation of the noise added to imputed pixels (ROAD's default), on [0, 1]."""

_NEIGHBOURS = ((-1, 0, 1 / 6), (1, 0, 1 / 6), (0, -1, 1 / 6), (0, 1, 1 / 6),
               (-1, -1, 1 / 12), (-1, 1, 1 / 12), (1, -1, 1 / 12), (1, 1, 1 / 12))


def impute(image: np.ndarray, keep: np.ndarray, noise: float = NOISE,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """``image`` with the pixels where ``keep`` is false filled by noisy linear imputation.

    Parameters
    ----------
    image
        ``(h, w)`` or ``(h, w, c)`` float image (each channel is filled on its own; equal
        channels are solved once).
    keep
        Boolean ``(h, w)``: the pixels that stay.
    noise
        Standard deviation of the Gaussian noise added to the filled pixels (0 for none).
    rng
        Generator of the noise (default: seeded with 0).

    Returns
    -------
    numpy.ndarray
        ``float32``, the shape of ``image``; kept pixels unchanged.
    """
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import spsolve

    x = np.asarray(image, np.float64)
    keep = np.asarray(keep, bool)
    planes = x[..., None] if x.ndim == 2 else x
    if keep.shape != planes.shape[:2]:
        raise ExplainerError(f"keep mask of shape {keep.shape} does not match the image "
                             f"{planes.shape[:2]}")
    missing = ~keep
    out = planes.copy()
    n = int(missing.sum())
    if n:
        if not keep.any():  # nothing to impute from
            filled = np.broadcast_to(planes.reshape(-1, planes.shape[-1]).mean(axis=0),
                                     (n, planes.shape[-1]))
        else:
            matrix, known_weights = _system(missing)
            same = all(np.array_equal(planes[..., 0], planes[..., k])
                       for k in range(1, planes.shape[-1]))
            channels = [0] if same else range(planes.shape[-1])
            solved = [spsolve(csc_matrix(matrix), known_weights @ planes[..., k][keep])
                      for k in channels]
            filled = np.stack(solved * planes.shape[-1] if same else solved, axis=-1)
        if noise:
            filled = filled + (rng or np.random.default_rng(0)).normal(0.0, noise, (n, 1))
        out[missing] = filled
    out = out.astype(np.float32)
    return out[..., 0] if x.ndim == 2 else out


def _system(missing: np.ndarray) -> tuple[object, object]:
    """The sparse system ``A u = B k`` of the missing pixels ``u`` given the kept ones ``k``.

    Row ``i`` says: missing pixel ``i`` times the sum of its neighbours' weights equals the
    weighted sum of its neighbours (missing ones on the left, kept ones on the right).
    """
    h, w = missing.shape
    index = np.full((h, w), -1, np.int64)
    index[missing] = np.arange(int(missing.sum()))
    kept_index = np.full((h, w), -1, np.int64)
    kept_index[~missing] = np.arange(int((~missing).sum()))
    ys, xs = np.nonzero(missing)
    rows = index[ys, xs]
    diagonal = np.zeros(rows.size)
    a_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    b_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for dy, dx, weight in _NEIGHBOURS:
        yy, xx = ys + dy, xs + dx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        diagonal[inside] += weight
        r, yy, xx = rows[inside], yy[inside], xx[inside]
        other = missing[yy, xx]
        a_parts.append((r[other], index[yy[other], xx[other]], np.full(other.sum(), -weight)))
        b_parts.append((r[~other], kept_index[yy[~other], xx[~other]],
                        np.full((~other).sum(), weight)))
    a_parts.append((rows, rows, diagonal))
    n, m = rows.size, int((~missing).sum())
    return _sparse(a_parts, (n, n)), _sparse(b_parts, (n, m)).tocsr()


def _sparse(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
            shape: tuple[int, int]) -> object:
    from scipy.sparse import coo_matrix

    rows, cols, values = (np.concatenate(p) for p in zip(*parts))
    return coo_matrix((values, (rows, cols)), shape=shape)
