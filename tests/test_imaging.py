"""Decoding: EXIF orientation, and properties that hold for any image (hypothesis)."""

from __future__ import annotations

import io
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from xaixray import ImageError, Preprocessing, load_image
from xaixray.imaging import MIN_SIDE

ORIENTATION = 0x0112  # the EXIF tag


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif.tobytes()


def _upright() -> np.ndarray:
    """A non-square gray image with a bright block in its top-left corner (up is obvious)."""
    image = np.full((48, 80), 40, np.uint8)
    image[:16, :24] = 230
    image[30:, 60:] = 120
    return image


def test_rotated_jpeg_with_orientation_tag_is_read_upright(tmp_path, tiny_classifier):
    """Pixels stored on their side + "rotate 90° clockwise to display" (orientation 6)."""
    from xaixray.explainers import PreparedImage

    stored = Image.fromarray(_upright()).transpose(Image.Transpose.ROTATE_90)  # 90° anticlockwise
    tagged, untagged = tmp_path / "tagged.jpeg", tmp_path / "untagged.jpeg"
    stored.save(tagged, quality=95, exif=_exif(6))
    stored.save(untagged, quality=95)
    raw = load_image(untagged)  # the same compressed pixels, no tag: lying on its side
    assert raw.shape == (80, 48)
    upright = np.rot90(raw, k=-1)  # what the tag says: turn 90° clockwise
    image = load_image(tagged)
    assert image.shape == (48, 80)
    np.testing.assert_array_equal(image, upright)
    assert np.abs(image.astype(int) - _upright()).mean() < 3  # really upright (JPEG noise only)
    np.testing.assert_array_equal(tiny_classifier.predict_proba(tagged),
                                  tiny_classifier.predict_proba(upright))
    prepared = PreparedImage.load(tiny_classifier, tagged)  # what figures and reports show
    np.testing.assert_array_equal(prepared.original, upright)
    # a PIL image opened from the file is turned upright too
    with Image.open(tagged) as pil:
        np.testing.assert_array_equal(load_image(pil), upright)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_every_exif_orientation_matches_pillow(tmp_path, orientation, fmt):
    path = tmp_path / f"o{orientation}.{fmt.lower()}"
    options = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(_upright()).save(path, exif=_exif(orientation), **options)
    with Image.open(path) as pil:
        expected = np.asarray(ImageOps.exif_transpose(pil).convert("L"))
    np.testing.assert_array_equal(load_image(path), expected)


def test_cmyk_tiff_becomes_rgb(tmp_path):
    rgb = np.dstack([_upright(), 255 - _upright(), np.full((48, 80), 128, np.uint8)])
    path = tmp_path / "cmyk.tiff"
    Image.fromarray(rgb).convert("CMYK").save(path)
    with Image.open(path) as pil:
        expected = np.asarray(pil.convert("RGB"))
    np.testing.assert_array_equal(load_image(path), expected)



# ---------------------------------------------------------------------- properties (hypothesis)
# Whatever the file or array, decoding gives uint8 (H, W) or (H, W, 3), upright, and
# preprocessing gives exactly the model frame: float32 (n, h, w, c) in [0, 1]; or the failure
# is one ImageError line naming the input.
MODES = ("L", "LA", "RGB", "RGBA", "P", "I;16", "CMYK")
FORMATS = ("PNG", "JPEG", "TIFF", "WEBP", "BMP")
EXIF_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")
PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _pil_image(mode: str, h: int, w: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (h, w), dtype=np.uint16))
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    return Image.fromarray(rgba, "RGBA").convert(mode)


def _can_save(mode: str, fmt: str) -> bool:
    try:
        _pil_image(mode, 4, 4, 0).save(io.BytesIO(), format=fmt)
        return True
    except (OSError, KeyError, ValueError, TypeError):
        return False


COMBINATIONS = [(m, f) for m in MODES for f in FORMATS if _can_save(m, f)]


def _model_frame_ok(batch: np.ndarray, pre: Preprocessing, n: int) -> None:
    assert batch.shape == (n, *pre.image_shape) and batch.dtype == np.float32
    assert np.isfinite(batch).all() and batch.min() >= 0.0 and batch.max() <= 1.0


def _one_line_naming(exc: ImageError, name: str) -> None:
    message = str(exc)
    assert message and "\n" not in message and (not name or name in message), message


@PROPERTY
@given(combo=st.sampled_from(COMBINATIONS), h=st.integers(1, 70), w=st.integers(1, 70),
       orientation=st.integers(1, 8), seed=st.integers(0, 2**16),
       pre=st.sampled_from([Preprocessing((24, 32), 1), Preprocessing((20, 20), 3)]))
def test_any_image_file_decodes_upright_to_the_model_frame(combo, h, w, orientation, seed, pre):
    mode, fmt = combo
    options = {"exif": _exif(orientation)} if fmt in EXIF_FORMATS else {}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"x.{fmt.lower()}")
        _pil_image(mode, h, w, seed).save(path, format=fmt, **options)
        # orientations 5-8 turn the image a quarter: its height and width swap
        upright_h, upright_w = (w, h) if options and orientation >= 5 else (h, w)
        try:
            image = load_image(path)
        except ImageError as exc:
            _one_line_naming(exc, path)
            assert min(h, w) < MIN_SIDE, str(exc)  # only too-small images are refused
            return
        assert image.dtype == np.uint8
        assert image.shape in ((upright_h, upright_w), (upright_h, upright_w, 3))
        _model_frame_ok(pre.prepare([path, image]), pre, 2)


DTYPES = (np.uint8, np.uint16, np.int32, np.float32, np.float64, np.bool_)


@PROPERTY
@given(dtype=st.sampled_from(DTYPES), h=st.integers(1, 60), w=st.integers(1, 60),
       channels=st.sampled_from([None, 1, 2, 3, 4]), scale=st.sampled_from([1.0, 255.0, 1e4]),
       special=st.sampled_from([None, np.nan, np.inf, -1.0]), seed=st.integers(0, 2**16),
       pre=st.sampled_from([Preprocessing((24, 32), 1), Preprocessing((20, 20), 3)]))
def test_any_array_becomes_the_model_frame_or_one_line(dtype, h, w, channels, scale, special,
                                                       seed, pre):
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels is None else (h, w, channels)
    values = rng.random(shape) * scale
    if special is not None:
        values.flat[0] = special
    if np.issubdtype(dtype, np.integer) or dtype is np.bool_:
        values = np.nan_to_num(values, nan=0, posinf=0, neginf=0)
        info = np.iinfo(dtype) if dtype is not np.bool_ else None
        array = (values > scale / 2) if info is None else np.clip(values, info.min, info.max)
        array = array.astype(dtype)
    else:
        array = values.astype(dtype)
    try:
        image = load_image(array)
    except ImageError as exc:
        _one_line_naming(exc, "")
        refused = (min(h, w) < MIN_SIDE or channels == 2
                   or (np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all()))
        assert refused, str(exc)
        return
    assert image.dtype == np.uint8 and image.shape[:2] == (h, w)
    assert image.ndim == 2 or image.shape[2] == 3
    _model_frame_ok(pre.prepare([array]), pre, 1)
