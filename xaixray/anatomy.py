"""Where the body and the lungs are in a chest X-ray, found with scikit-image (no model).

- :func:`body_mask`: the torso, for the metrics' outside-body share;
- :func:`lung_box`: the box around both lung fields, for the ``"lungs"`` crop of
  :class:`~xaixray.preprocessing.Preprocessing`, which frames every image the same way whatever
  the film's framing.

Both are rough, intensity-based guesses: good enough to frame an image or flag a map that
points at the background, not a segmentation to measure anything with.
"""

from __future__ import annotations

import numpy as np

from .imaging import resize_map

BODY_GRID = 256
LUNG_GRID = 128
LUNG_QUANTILE = 0.3
LUNG_MIN_AREA = 0.01
LUNG_MARGIN = 0.05
PRESHRINK = 4

Box = tuple[int, int, int, int]
"""``(top, bottom, left, right)`` in pixels: rows ``top:bottom``, columns ``left:right``."""


def gray_float(image: np.ndarray) -> np.ndarray:
    """A 2-D ``float32`` copy of a ``(H, W)`` or ``(H, W, 3)`` image (channels averaged)."""
    g = np.asarray(image, np.float32)
    if g.ndim == 3:
        g = g.mean(axis=-1)
    if g.ndim != 2:
        raise ValueError(f"an image must be 2-D or (H, W, 3), got shape {np.shape(image)}")
    return g


def grid_shape(shape: tuple[int, int], grid: int = BODY_GRID) -> tuple[int, int]:
    """``shape`` scaled down so that its longer side is at most ``grid`` (never up)."""
    h, w = shape
    scale = min(1.0, grid / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def _largest_bright_hull(small: np.ndarray) -> np.ndarray | None:
    """Convex hull of the largest region above Otsu's threshold; ``None`` if there is none."""
    from skimage.filters import threshold_otsu
    from skimage.measure import label
    from skimage.morphology import convex_hull_image

    if np.ptp(small) == 0:
        return None
    labels = label(small > threshold_otsu(small))
    if labels.max() == 0:
        return None
    largest = np.argmax(np.bincount(labels.ravel())[1:]) + 1
    return convex_hull_image(labels == largest)


def body_mask(image: np.ndarray, grid: int | None = BODY_GRID) -> np.ndarray:
    """Boolean mask of the body in an X-ray (``True`` inside), in the image's frame.

    Otsu threshold of the image smoothed with a Gaussian (sigma 1% of the shorter side), the
    largest connected component above it, and that component's convex hull. Computed on a grid
    of at most ``grid`` px (``None``: full resolution) and resampled back.
    """
    from skimage.filters import gaussian

    gray = gray_float(image)
    small = resize_map(gray, grid_shape(gray.shape, grid)) if grid else gray
    small = gaussian(small, sigma=max(1.0, 0.01 * min(small.shape)), preserve_range=True)
    body = _largest_bright_hull(small)
    if body is None:
        return np.ones(gray.shape, bool)
    return resize_map(body, gray.shape, nearest=True) if body.shape != gray.shape else body


def lung_box(image: np.ndarray) -> Box:
    """The box around both lung fields, in pixels of ``image``; the whole image if none is found.

    On a 128 x 128 copy, smoothed (Gaussian, sigma 1.5): the body is the convex hull of the
    largest region above Otsu's threshold; the lungs are the darkest 30% of it, opened twice, of
    which the two largest regions (each at least 1% of the image) are kept. Their box is
    mirrored about the body's vertical midline, so that a lung the threshold missed is still
    inside it, and widened by 5% of the image on every side.
    """
    from scipy.ndimage import binary_opening
    from skimage.filters import gaussian
    from skimage.measure import label, regionprops
    from skimage.transform import resize

    gray = gray_float(image)
    h, w = gray.shape
    g = LUNG_GRID
    # a film of thousands of pixels is first area-averaged to PRESHRINK x 128 a side: the
    # anti-aliasing Gaussian below would otherwise run at full size (0.1 s per image)
    if min(h, w) > PRESHRINK * g:
        gray = resize_map(gray, (PRESHRINK * g, PRESHRINK * g))
    small = gaussian(resize(gray.astype(np.float64), (g, g), anti_aliasing=True), 1.5)
    body = _largest_bright_hull(small)
    if body is None:
        return 0, h, 0, w
    dark = binary_opening(body & (small < np.quantile(small[body], LUNG_QUANTILE)), iterations=2)
    regions = sorted(regionprops(label(dark)), key=lambda r: -r.area)
    regions = [r for r in regions if r.area > LUNG_MIN_AREA * g * g][:2]
    if not regions:
        return 0, h, 0, w
    cols = np.nonzero(body.any(axis=0))[0]
    mid = (cols[0] + cols[-1] + 1) / 2
    c0, c1 = min(r.bbox[1] for r in regions), max(r.bbox[3] for r in regions)
    c0, c1 = min(c0, 2 * mid - c1), max(c1, 2 * mid - c0)
    top = max(min(r.bbox[0] for r in regions) / g - LUNG_MARGIN, 0.0)
    bottom = min(max(r.bbox[2] for r in regions) / g + LUNG_MARGIN, 1.0)
    left = max(c0 / g - LUNG_MARGIN, 0.0)
    right = min(c1 / g + LUNG_MARGIN, 1.0)
    box = (int(top * h), int(round(bottom * h)), int(left * w), int(round(right * w)))
    if box[1] - box[0] < 8 or box[3] - box[2] < 8:
        return 0, h, 0, w
    return box
