"""Decoding and preprocessing of every input kind, in one place."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from xaixray import ImageError, ModelError, Preprocessing, load_image
from xaixray.preprocessing import infer_from_input_shape


@pytest.fixture
def gray(rng) -> np.ndarray:
    return rng.integers(0, 256, (90, 70), dtype=np.uint8)


def test_file_formats(tmp_path, gray):
    cv2.imwrite(str(tmp_path / "a.png"), gray)
    cv2.imwrite(str(tmp_path / "b.jpg"), gray)
    cv2.imwrite(str(tmp_path / "c16.png"), gray.astype(np.uint16) * 257)
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 255)])
    cv2.imwrite(str(tmp_path / "d.png"), rgba)
    colour = np.dstack([gray, gray // 2, 255 - gray])
    cv2.imwrite(str(tmp_path / "e.png"), colour[:, :, ::-1])  # written as BGR
    np.testing.assert_array_equal(load_image(tmp_path / "a.png"), gray)
    assert load_image(tmp_path / "b.jpg").shape == (90, 70)
    np.testing.assert_array_equal(load_image(tmp_path / "c16.png"), gray)
    np.testing.assert_array_equal(load_image(tmp_path / "d.png"), gray)  # equal channels -> gray
    np.testing.assert_array_equal(load_image(str(tmp_path / "e.png")), colour)  # RGB order


def test_in_memory_kinds(gray):
    as_float = gray / 255.0
    np.testing.assert_array_equal(load_image(as_float), gray)
    np.testing.assert_array_equal(load_image(gray.astype(np.float32)), gray)  # 0-255 floats
    np.testing.assert_array_equal(load_image(gray[:, :, None]), gray)
    np.testing.assert_array_equal(load_image(Image.fromarray(gray)), gray)
    rgb = np.dstack([gray, gray[::-1], gray])
    np.testing.assert_array_equal(load_image(Image.fromarray(rgb)), rgb)
    assert load_image(rgb).shape == (90, 70, 3)


@pytest.mark.parametrize("bad, reason", [
    (np.zeros((8, 8), np.uint8), "too small"),
    (np.full((32, 32), np.nan), "NaN"),
    (np.zeros((32, 32, 2), np.uint8), "expected an image of shape"),
    (np.zeros((2, 32, 32, 3), np.uint8), "expected an image of shape"),
])
def test_bad_arrays(bad, reason):
    with pytest.raises(ImageError, match=reason):
        load_image(bad)


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "folder.png").mkdir()
    for name, reason in [("empty.jpg", "empty"), ("text.jpg", "not a readable image"),
                         ("folder.png", "is a folder"), ("missing.png", "no such file")]:
        with pytest.raises(ImageError) as info:
            load_image(tmp_path / name)
        message = str(info.value)
        assert name in message and reason in message and "\n" not in message


def test_decompression_bomb_is_an_image_error(tmp_path):
    """A PNG header claiming 100000x100000 pixels is refused with one line, not a cv2.error."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    with pytest.raises(ImageError) as info:
        load_image(bomb)
    assert "bomb.png" in str(info.value) and "\n" not in str(info.value)
    assert "too large" in str(info.value)


def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    """A real 90-Mpx PNG of 90 kB is refused from its header: OpenCV never decodes it."""
    from conftest import png_bomb

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(10_000, 9_000))
    assert bomb.stat().st_size < 200_000

    def no_decoding(*args, **kwargs):
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    with pytest.raises(ImageError) as info:
        load_image(bomb)
    assert str(info.value) == (f"{bomb}: image is too large (10000x9000 px; at most 80,000,000 "
                               "pixels)")


@pytest.mark.parametrize("channels", [1, 3])
def test_prepare_any_input_to_model_frame(channels, gray, tmp_path):
    pre = Preprocessing((32, 48), channels)
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), gray)
    rgb = np.dstack([gray, gray // 2, gray])
    batch = pre.prepare([path, gray, gray / 255.0, Image.fromarray(gray), rgb])
    assert batch.shape == (5, 32, 48, channels)
    assert batch.dtype == np.float32 and 0.0 <= batch.min() and batch.max() <= 1.0
    np.testing.assert_allclose(batch[0], batch[1])  # file and array give the same pixels
    np.testing.assert_allclose(batch[1], batch[2], atol=1 / 255)
    if channels == 3:
        np.testing.assert_array_equal(batch[1][..., 0], batch[1][..., 2])  # gray replicated


def test_scalings():
    x = np.full((1, 8, 8, 3), 0.5, np.float32)
    x[..., 0] = 1.0
    run = lambda s: np.asarray(Preprocessing((8, 8), 3, s).to_model_input(x))  # noqa: E731
    np.testing.assert_allclose(run("unit"), x)
    np.testing.assert_allclose(run("raw"), x * 255)
    np.testing.assert_allclose(run("symmetric"), x * 2 - 1)
    caffe = run("caffe")  # BGR order, ImageNet means subtracted
    np.testing.assert_allclose(caffe[0, 0, 0], [127.5 - 103.939, 127.5 - 116.779, 255 - 123.68],
                               rtol=1e-5)
    std = run("standardize")
    assert abs(std.mean()) < 1e-5 and abs(std.std() - 1) < 1e-3


def test_rows_layout_matches_reshape(rng):
    pre = Preprocessing((150, 150), 3, "unit", "rows")
    x = rng.random((2, 150, 150, 3)).astype(np.float32)
    out = np.asarray(pre.to_model_input(x))
    assert out.shape == (2, 150, 450)
    np.testing.assert_allclose(out, x.reshape(2, 150, 450))


def test_infer_from_input_shape():
    assert infer_from_input_shape((128, 128, 1)).channels == 1
    rows = infer_from_input_shape((150, 450))
    assert (rows.layout, rows.input_size, rows.channels) == ("rows", (150, 150), 3)
    with pytest.raises(ModelError):
        infer_from_input_shape((10,))


def test_invalid_preprocessing():
    with pytest.raises(ModelError, match="scaling"):
        Preprocessing(scaling="bogus")
    with pytest.raises(ModelError, match="3 channels"):
        Preprocessing(channels=1, scaling="caffe")


def test_round_trip_dict():
    pre = Preprocessing((150, 150), 3, "caffe", "image")
    assert Preprocessing.from_dict(pre.to_dict()) == pre


def test_clahe_equalises_contrast_in_the_model_frame(rng):
    """A low-contrast image is stretched by CLAHE after resizing; "none" leaves pixels alone."""
    flat = (100 + rng.integers(0, 20, (300, 240))).astype(np.uint8)
    plain = Preprocessing((64, 64), 1, "unit", equalize="none").fit(flat)
    equal = Preprocessing((64, 64), 1, "unit", equalize="clahe").fit(flat)
    assert plain.shape == equal.shape == (64, 64, 1)
    assert equal.std() > 2 * plain.std()
    rgb = Preprocessing((64, 64), 3, "unit", equalize="clahe").fit(np.dstack([flat] * 3))
    np.testing.assert_array_equal(rgb[:, :, 0], equal[:, :, 0])  # X-ray channels stay equal
    np.testing.assert_array_equal(rgb[:, :, 2], equal[:, :, 0])


def test_equalize_is_validated_and_serialised():
    with pytest.raises(ModelError, match="unknown equalize"):
        Preprocessing(equalize="histogram")
    pre = Preprocessing((64, 64), 1, "standardize", equalize="clahe")
    assert Preprocessing.from_dict(pre.to_dict()) == pre
    old = {"input_size": [64, 64], "channels": 1, "scaling": "unit", "layout": "image"}
    assert Preprocessing.from_dict(old).equalize == "none"  # files written before the option
