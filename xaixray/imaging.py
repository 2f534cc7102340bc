"""Decoding image files and normalising in-memory images, with checks.

Everything that turns "something a user gave us" into a plain NumPy image lives here:
file paths (JPEG, PNG, BMP, TIFF, WebP and, with the ``dicom`` extra, DICOM), PIL images and
NumPy arrays of any size, grayscale or colour, uint8, uint16 or float. The result is always
either ``(H, W)`` or ``(H, W, 3)`` ``uint8`` — the *original frame* in which heatmaps are
reported.
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
DICOM_SUFFIXES = (".dcm", ".dicom")
MIN_SIDE = 16
MAX_PIXELS = 80_000_000
DICOM_EXTRA = "pip install 'xaixray[dicom]'"
_DICM_OFFSET = 128  # a DICOM file: 128 bytes of preamble, then b"DICM"


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file xaixray reads: an image or DICOM suffix (any case), or, for
    other suffixes (DICOM files often have none), the ``DICM`` marker of a DICOM file."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES or suffix in DICOM_SUFFIXES:
        return True
    return _has_dicom_marker(path)


def _has_dicom_marker(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(_DICM_OFFSET)
            return f.read(4) == b"DICM"
    except OSError:
        return False


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into a ``uint8`` array of shape ``(H, W)`` or ``(H, W, 3)`` (RGB).

    Parameters
    ----------
    path
        JPEG, PNG, BMP, TIFF or WebP file. An EXIF orientation tag is honoured (the image comes
        back upright, as a viewer shows it); 16-bit images are rescaled to 8 bits by their own
        range; an alpha channel is dropped; CMYK becomes RGB; colour images with three equal
        channels become grayscale. A DICOM file (``.dcm``, or any file with the ``DICM``
        marker) is read with pydicom, the ``dicom`` extra: see :func:`read_dicom`.

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
    if p.suffix.lower() in DICOM_SUFFIXES or bytes(data[_DICM_OFFSET:_DICM_OFFSET + 4]) == b"DICM":
        return read_dicom(p)
    too_large = _too_large_by_header(data)
    if too_large:
        raise ImageError(f"{p}: image is too large ({too_large}; at most {MAX_PIXELS:,} pixels)")
    try:
        # any depth (16-bit stays 16-bit) and any colour, with the EXIF orientation applied:
        # IMREAD_UNCHANGED would ignore the orientation and return CMYK as four channels
        image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
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


def read_dicom(path: str | os.PathLike) -> np.ndarray:
    """Read a DICOM file into a ``uint8`` array ``(H, W)`` (or ``(H, W, 3)`` for colour), as a
    DICOM viewer would show it.

    With pydicom's helpers: the modality LUT or rescale slope and intercept, then the VOI LUT or
    window (the first one, when several are given), scaled from the window's output range to
    0-255; without a VOI LUT or window, the image's own range is scaled to 0-255, as for other
    12- and 16-bit images. MONOCHROME1 images (where higher values are darker) are inverted.

    Raises
    ------
    ImageError
        One line naming the file: pydicom missing (the ``dicom`` extra), not a DICOM file, no
        pixel data, several frames, a compressed transfer syntax whose decoder plugin is not
        installed (naming the packages), or pixel data that cannot be decoded.
    """
    p = Path(path)
    try:
        import pydicom
    except ImportError:
        raise ImageError(f"{p}: DICOM files need pydicom: {DICOM_EXTRA}") from None
    modality_lut, voi_lut = _dicom_helpers()
    try:
        ds = pydicom.dcmread(p)
    except Exception as exc:  # noqa: BLE001 - InvalidDicomError, EOFError, struct errors...
        raise ImageError(f"{p}: not a readable DICOM file ({one_line(exc, 160)})") from None
    if "PixelData" not in ds:
        raise ImageError(f"{p}: DICOM file without an image (no pixel data)")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows * cols > MAX_PIXELS:
        raise ImageError(f"{p}: image is too large ({cols}x{rows} px)")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise ImageError(f"{p}: DICOM file with {frames} frames; xaixray reads single images")
    _check_dicom_decoder(p, ds)
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - decoder plugins raise many kinds
        raise ImageError(f"{p}: cannot decode its DICOM pixel data "
                         f"({one_line(exc, 160)})") from None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    try:
        if not photometric.startswith("MONOCHROME"):  # colour (RGB, YBR: pydicom gives RGB)
            return to_uint8_image(pixels)
        values = modality_lut(pixels, ds)
        windowed = voi_lut(values, ds)
        if windowed is values:
            low, high = float(np.min(values)), float(np.max(values))
        else:
            low, high = _voi_range(ds, voi_lut)
        scaled = (np.asarray(windowed, np.float64) - low) / max(high - low, 1e-12)
        if photometric == "MONOCHROME1":
            scaled = 1.0 - scaled
        return to_uint8_image(np.clip(scaled, 0.0, 1.0))
    except ImageError as exc:
        raise ImageError(f"{p}: {exc}") from None


def _dicom_helpers() -> tuple[Any, Any]:
    """pydicom's ``apply_modality_lut`` and ``apply_voi_lut`` (pydicom 3, or 2.x)."""
    try:
        from pydicom.pixels import apply_modality_lut, apply_voi_lut
    except ImportError:  # pydicom 2.x
        from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut
    return apply_modality_lut, apply_voi_lut


def _voi_range(ds: Any, voi_lut: Any) -> tuple[float, float]:
    """The output range of the dataset's VOI LUT or window: what black and white are."""
    if "VOILUTSequence" in ds:
        bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        return 0.0, float(2 ** bits - 1)
    ends = voi_lut(np.array([-1e12, 1e12]), ds)  # a window saturates at its output range
    return float(np.min(ends)), float(np.max(ends))


def _check_dicom_decoder(p: Path, ds: Any) -> None:
    """A compressed transfer syntax whose decoder plugin is not installed: say which to install."""
    uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if uid is None or not getattr(uid, "is_compressed", False):
        return
    try:
        from pydicom.pixels import get_decoder
    except ImportError:  # pydicom 2.x: its own message, below
        return
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise ImageError(f"{p}: DICOM transfer syntax {uid.name} is not supported") from None
    if decoder.is_available:
        return
    options = [m.split(" - requires ", 1)[-1].replace("numpy and ", "")
               .replace("gdcm>=", "python-gdcm>=") for m in decoder.missing_dependencies]
    raise ImageError(f"{p}: its DICOM pixel data is compressed ({uid.name}) and no decoder for "
                     f"it is installed; install one of: {' | '.join(options)}")


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

    Accepts PIL images (turned upright by their EXIF orientation) and arrays shaped ``(H, W)``,
    ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``. ``uint8`` is kept; ``uint16`` and other
    integer types are rescaled by their own range; floats are taken as [0, 1] when their maximum
    is at most 1, else as 0–255.
    """
    if not isinstance(image, np.ndarray):
        if hasattr(image, "convert") and hasattr(image, "mode"):  # PIL image
            from PIL import ImageOps

            image = ImageOps.exif_transpose(image)  # upright, as the EXIF orientation says
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


def display_name(source: str) -> str:
    """What figures and pages call an input: the file name of a path (no folders, which may
    name a patient or a user), else ``source`` itself (``array(...)``)."""
    return str(source).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or str(source)


def anonymous_name(image: np.ndarray) -> str:
    """A name made from an image's decoded pixels only: ``image-`` and 12 hex digits of the
    SHA-256 of its shape and bytes. The same pixels always get the same name."""
    import hashlib

    array = np.ascontiguousarray(image)
    digest = hashlib.sha256(f"{array.shape}{array.dtype}".encode() + array.tobytes())
    return f"image-{digest.hexdigest()[:12]}"


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


def cut_box(heatmap: np.ndarray, box: tuple[int, int, int, int],
            frame: tuple[int, int] | None = None) -> np.ndarray:
    """The part of a 2-D map inside ``box`` (``top, bottom, left, right``, pixels of ``frame``).

    ``frame`` is the ``(H, W)`` the box was measured in (default: the map's own shape); a map at
    another resolution of that frame is cut at the box scaled to it.
    """
    top, bottom, left, right = box
    h, w = frame if frame is not None else heatmap.shape[:2]
    sy, sx = heatmap.shape[0] / h, heatmap.shape[1] / w
    t, lft = int(top * sy), int(left * sx)
    return heatmap[t:max(t + 1, round(bottom * sy)), lft:max(lft + 1, round(right * sx))]
