"""Decoding image files and normalising in-memory images, with checks.

Everything that turns "something a user gave us" into a plain NumPy image lives here:
file paths, PIL images and NumPy arrays of any size, grayscale or colour, uint8, uint16 or float.
The result is always either ``(H, W)`` or ``(H, W, 3)`` ``uint8`` — the *original frame* in which
heatmaps are reported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ImageError, one_line

ImageLike = Any  # str | os.PathLike | np.ndarray | PIL.Image.Image
"""A file path, a PIL image or a NumPy array."""

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".bmp", ".tif", ".tiff", ".webp")
MIN_SIDE = 16
MAX_PIXELS = 80_000_000


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` has an image suffix xaixray reads."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into a ``uint8`` array of shape ``(H, W)`` or ``(H, W, 3)`` (RGB).

    Parameters
    ----------
    path
        JPEG, PNG, BMP, TIFF or WebP file. 16-bit images are rescaled to 8 bits by their own
        range; an alpha channel is dropped; colour images with three equal channels become
        grayscale.

    Raises
    ------
    ImageError
        With a one-line message naming the file and the reason.
    """
    import cv2

    p = Path(path)
    if not p.exists():
        raise ImageError(f"{p}: no such file")
    if p.is_dir():
        raise ImageError(f"{p}: is a folder, not an image file")
    try:
        data = np.fromfile(p, dtype=np.uint8)
    except OSError as exc:
        raise ImageError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageError(f"{p}: file is empty")
    too_large = _too_large_by_header(data)
    if too_large:
        raise ImageError(f"{p}: image is too large ({too_large}; at most {MAX_PIXELS:,} pixels)")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # e.g. more pixels than OpenCV will decode
        raise ImageError(f"{p}: cannot be decoded ({one_line(exc, 160, last=True)})") from None
    if image is None:
        raise ImageError(f"{p}: not a readable image (corrupt, truncated or unsupported format)")
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    elif image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    try:
        return to_uint8_image(image)
    except ImageError as exc:
        raise ImageError(f"{p}: {exc}") from None


def _too_large_by_header(data: np.ndarray) -> str | None:
    """``"W x H px"`` when the file's header declares more than :data:`MAX_PIXELS`, else None.

    Read from the header alone (Pillow opens files lazily), so that a small file declaring a huge
    image (a decompression bomb) is refused before any pixel is decoded. Formats Pillow does not
    know are left to OpenCV, which has its own limit.
    """
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data.tobytes())) as im:
                w, h = im.size
    except Image.DecompressionBombError:
        return f"more than {Image.MAX_IMAGE_PIXELS * 2:,} pixels"
    except Exception:  # noqa: BLE001 - unknown or broken header: OpenCV decides
        return None
    return f"{w}x{h} px" if w * h > MAX_PIXELS else None


def to_uint8_image(image: Any) -> np.ndarray:
    """Normalise an in-memory image to ``uint8`` ``(H, W)`` or ``(H, W, 3)``.

    Accepts PIL images and arrays shaped ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``.
    ``uint8`` is kept; ``uint16`` and other integer types are rescaled by their own range; floats
    are taken as [0, 1] when their maximum is at most 1, else as 0–255.
    """
    if not isinstance(image, np.ndarray):
        if hasattr(image, "convert") and hasattr(image, "mode"):  # PIL image
            mode = image.mode
            if mode in ("I;16", "I;16B", "I", "F"):
                image = np.asarray(image)
            else:
                image = np.asarray(image.convert("L" if mode in ("L", "1", "P", "LA") else "RGB"))
        else:
            try:
                image = np.asarray(image)
            except Exception:  # noqa: BLE001 - anything not array-like
                raise ImageError(f"not an image: {type(image).__name__}") from None
    if image.dtype == object or image.size == 0:
        raise ImageError("empty or non-numeric image array")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ImageError(
            f"expected an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
            f"got {tuple(image.shape)}"
        )
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"image is too small ({w}x{h} px; at least {MIN_SIDE} px a side)")
    if h * w > MAX_PIXELS:
        raise ImageError(f"image is too large ({w}x{h} px)")

    if image.dtype == np.uint8:
        out = image
    elif image.dtype == np.bool_:
        out = image.astype(np.uint8) * 255
    elif np.issubdtype(image.dtype, np.integer):
        lo, hi = int(image.min()), int(image.max())
        scaled = (image.astype(np.float64) - lo) / max(hi - lo, 1)
        out = np.round(scaled * 255).astype(np.uint8)
    elif np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise ImageError("image contains NaN or infinite values")
        scale = 255.0 if float(image.max()) <= 1.0 else 1.0
        out = np.clip(np.round(image.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    else:
        raise ImageError(f"unsupported pixel type {image.dtype}")

    if out.ndim == 3 and _channels_equal(out):
        out = out[:, :, 0]
    return np.ascontiguousarray(out)


def _channels_equal(image: np.ndarray) -> bool:
    return bool(np.array_equal(image[:, :, 0], image[:, :, 1]) and
                np.array_equal(image[:, :, 0], image[:, :, 2]))


def load_image(image: ImageLike) -> np.ndarray:
    """Load a path, PIL image or array as a ``uint8`` ``(H, W)`` or ``(H, W, 3)`` array."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    return to_uint8_image(image)


def describe(image: ImageLike) -> str:
    """A short name for an input, for messages and reports."""
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    if isinstance(image, np.ndarray):
        return f"array{tuple(image.shape)}"
    return type(image).__name__


def as_image_list(images: Any) -> list:
    """One image (path, PIL image, 2-D/3-D array) becomes ``[image]``; sequences become lists."""
    if isinstance(images, (str, os.PathLike)) or hasattr(images, "mode"):
        return [images]
    if isinstance(images, np.ndarray):
        if images.ndim == 2 or (images.ndim == 3 and images.shape[-1] in (1, 3, 4)
                                and images.shape[0] > 4):
            return [images]
        return list(images)
    return list(images)


def resize_map(heatmap: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize a 2-D map to ``shape`` ``(H, W)``.

    Bilinear when enlarging and area-averaging when shrinking (OpenCV), or exact
    nearest-neighbour sampling with ``nearest``, which keeps label maps (superpixels) labels in
    any dtype.
    """
    import cv2

    h, w = shape
    if heatmap.shape == (h, w):
        return heatmap.copy()
    if nearest:
        rows = np.minimum((np.arange(h) + 0.5) * heatmap.shape[0] / h, heatmap.shape[0] - 1)
        cols = np.minimum((np.arange(w) + 0.5) * heatmap.shape[1] / w, heatmap.shape[1] - 1)
        return heatmap[rows.astype(int)[:, None], cols.astype(int)[None, :]]
    src = heatmap.astype(np.float32, copy=False)
    shrinking = h <= heatmap.shape[0] and w <= heatmap.shape[1]
    return cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
