"""DICOM input (the ``dicom`` extra): files written here with pydicom, read as a viewer shows them.

Expected pixels are computed independently: the DICOM linear window formula (PS3.3 C.11.2.1.2)
and the rescale written out, compared with ``xaixray.load_image``.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from xaixray import ImageError, load_image
from xaixray.imaging import is_image_file

needs_pydicom = pytest.mark.skipif(importlib.util.find_spec("pydicom") is None,
                                   reason="pydicom (the dicom extra) is not installed")

RAMP = (np.arange(48 * 64).reshape(48, 64) * 4095 // (48 * 64 - 1)).astype(np.uint16)  # 12 bit


def write_dicom(path, pixels: np.ndarray, photometric: str = "MONOCHROME2", bits_stored: int = 12,
                signed: bool = False, transfer_syntax=None, **tags) -> None:
    """A minimal single-frame DICOM file (secondary capture) holding ``pixels``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax or ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = int(signed)
    for key, value in tags.items():
        setattr(ds, key, value)
    if transfer_syntax is None:
        ds.PixelData = pixels.astype(np.int16 if signed else np.uint16).tobytes()
    else:  # compressed: the bytes do not matter, no decoder is asked to read them
        from pydicom.encaps import encapsulate

        ds.PixelData = encapsulate([b"\x00" * 64])
    ds.save_as(path, enforce_file_format=True)


def window(x: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM's linear window to [0, 1]."""
    return np.clip((x - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def as_uint8(unit: np.ndarray) -> np.ndarray:
    return np.round(unit * 255).astype(np.uint8)


@needs_pydicom
def test_monochrome2_12_bit_is_scaled_by_its_range(tmp_path):
    write_dicom(tmp_path / "m2.dcm", RAMP)
    image = load_image(tmp_path / "m2.dcm")
    assert image.dtype == np.uint8 and image.shape == RAMP.shape
    np.testing.assert_array_equal(image, as_uint8(RAMP / 4095))


@needs_pydicom
def test_monochrome1_is_inverted(tmp_path):
    write_dicom(tmp_path / "m1.dcm", RAMP, "MONOCHROME1")
    write_dicom(tmp_path / "m2.dcm", RAMP, "MONOCHROME2")
    m1, m2 = load_image(tmp_path / "m1.dcm"), load_image(tmp_path / "m2.dcm")
    np.testing.assert_array_equal(m1, 255 - m2)
    assert m1[0, 0] == 255 and m1[-1, -1] == 0  # low values are bright in MONOCHROME1


@needs_pydicom
def test_window_center_and_width(tmp_path):
    write_dicom(tmp_path / "w.dcm", RAMP, WindowCenter=1500, WindowWidth=1000)
    image = load_image(tmp_path / "w.dcm")
    expected = as_uint8(window(RAMP.astype(float), 1500, 1000))
    assert np.abs(image.astype(int) - expected).max() <= 1
    assert (image[RAMP < 1000] == 0).all() and (image[RAMP > 2000] == 255).all()


@needs_pydicom
def test_a_wide_window_is_not_stretched_to_full_contrast(tmp_path):
    narrow = (1000 + RAMP // 40).astype(np.uint16)  # values 1000..1102
    write_dicom(tmp_path / "wide.dcm", narrow, WindowCenter=1050, WindowWidth=4000)
    image = load_image(tmp_path / "wide.dcm")
    expected = as_uint8(window(narrow.astype(float), 1050, 4000))
    assert np.abs(image.astype(int) - expected).max() <= 1
    assert 100 < image.min() and image.max() < 150  # a mid-grey, as a viewer shows it


@needs_pydicom
def test_rescale_slope_and_intercept_come_before_the_window(tmp_path):
    # stored values v, modality values 2v - 1024; the window is in modality units
    write_dicom(tmp_path / "r.dcm", RAMP, RescaleSlope=2, RescaleIntercept=-1024,
                WindowCenter=0, WindowWidth=2000)
    image = load_image(tmp_path / "r.dcm")
    expected = as_uint8(window(2.0 * RAMP - 1024, 0, 2000))
    assert np.abs(image.astype(int) - expected).max() <= 1
    raw_window = as_uint8(window(RAMP.astype(float), 0, 2000))  # the window without rescale
    assert np.abs(image.astype(int) - raw_window).max() > 100


@needs_pydicom
def test_signed_16_bit(tmp_path):
    signed = (RAMP.astype(np.int32) * 16 - 32768).astype(np.int16)
    write_dicom(tmp_path / "s.dcm", signed, bits_stored=16, signed=True)
    image = load_image(tmp_path / "s.dcm")
    np.testing.assert_array_equal(image, as_uint8((signed + 32768.0) / (65520.0)))


@needs_pydicom
def test_files_with_the_dicom_marker_and_no_suffix_are_images(tmp_path, tiny_classifier):
    from xaixray.cli.common import gather_images

    write_dicom(tmp_path / "IM0001", RAMP)
    (tmp_path / "notes.txt").write_text("not an image")
    assert is_image_file(tmp_path / "IM0001") and not is_image_file(tmp_path / "notes.txt")
    assert is_image_file(tmp_path / "missing.DCM")
    assert gather_images([tmp_path]) == ([tmp_path / "IM0001"], [], [])
    np.testing.assert_array_equal(load_image(tmp_path / "IM0001"), as_uint8(RAMP / 4095))
    np.testing.assert_array_equal(tiny_classifier.predict_proba(tmp_path / "IM0001"),
                                  tiny_classifier.predict_proba(as_uint8(RAMP / 4095)))


@needs_pydicom
def test_compressed_without_a_decoder_names_the_packages(tmp_path):
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    write_dicom(tmp_path / "jls.dcm", RAMP, transfer_syntax=JPEGLSLossless)
    with pytest.raises(ImageError) as info:
        load_image(tmp_path / "jls.dcm")
    message = str(info.value)
    assert "jls.dcm" in message and "JPEG-LS" in message and "\n" not in message
    assert "install one of" in message and "pylibjpeg-libjpeg" in message


@needs_pydicom
def test_bad_dicom_files_are_one_line(tmp_path):
    import pydicom

    (tmp_path / "text.dcm").write_text("this is not DICOM")
    write_dicom(tmp_path / "frames.dcm", RAMP)
    ds = pydicom.dcmread(tmp_path / "frames.dcm")
    ds.NumberOfFrames = 2
    ds.PixelData = ds.PixelData * 2
    ds.save_as(tmp_path / "frames.dcm")
    del ds.PixelData
    ds.save_as(tmp_path / "no-pixels.dcm")
    for name, reason in [("text.dcm", "not a readable DICOM file"), ("frames.dcm", "2 frames"),
                         ("no-pixels.dcm", "no pixel data")]:
        with pytest.raises(ImageError) as info:
            load_image(tmp_path / name)
        assert name in str(info.value) and reason in str(info.value)
        assert "\n" not in str(info.value)


def test_without_pydicom_the_message_names_the_extra(tmp_path, monkeypatch):
    fake = tmp_path / "scan.dcm"
    fake.write_bytes(b"\x00" * 128 + b"DICM" + b"\x00" * 64)
    monkeypatch.setitem(sys.modules, "pydicom", None)  # import pydicom -> ImportError
    with pytest.raises(ImageError) as info:
        load_image(fake)
    assert str(info.value) == f"{fake}: DICOM files need pydicom: pip install 'xaixray[dicom]'"


@needs_pydicom
def test_commands_read_dicom(tmp_path, tiny_model_path, capsys):
    from xaixray.cli import main
    from xaixray.data import load_folder

    for cls, mean in (("NORMAL", 1000), ("PNEUMONIA", 3000)):
        (tmp_path / "data" / cls).mkdir(parents=True)
        for i in range(2):
            write_dicom(tmp_path / "data" / cls / f"{cls}{i}.dcm",
                        (RAMP // 4 + mean + 100 * i).astype(np.uint16))
    assert load_folder(tmp_path / "data", split=None).counts() == {"NORMAL": 2, "PNEUMONIA": 2}
    scan = tmp_path / "data" / "NORMAL" / "NORMAL0.dcm"
    assert main(["predict", str(tiny_model_path), str(scan)]) == 0
    assert "NORMAL0.dcm" in capsys.readouterr().out
    assert main(["evaluate", str(tiny_model_path), str(tmp_path / "data")]) == 0
    assert "images       4" in capsys.readouterr().out
    assert main(["explain", str(tiny_model_path), str(scan), "--methods", "gradcam",
                 "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "NORMAL0" / "report.html").exists()


@needs_pydicom
def test_voi_lut_sequence(tmp_path):
    from pydicom.dataset import Dataset

    lut = np.round(np.sqrt(np.arange(4096) / 4095) * 65535).astype(np.uint16)  # a gamma curve
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]  # 4096 entries from stored value 0, 16-bit output
    item.LUTData = lut.astype("<u2").tobytes()
    write_dicom(tmp_path / "lut.dcm", RAMP, VOILUTSequence=[item])
    image = load_image(tmp_path / "lut.dcm")
    np.testing.assert_array_equal(image, as_uint8(lut[RAMP] / 65535))
