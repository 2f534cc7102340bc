"""Decoding: EXIF orientation, and properties that hold for any image (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from xaixray import load_image

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

