"""Data: folder loading, patient-grouped splits, class weights, pipelines, phantoms."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_DATA

from xaixray import DataError, Preprocessing
from xaixray.data import (
    augmentation,
    class_weights,
    load_arrays,
    load_folder,
    make_dataset,
    make_phantoms,
    patient_id,
    split_by_patient,
)


@pytest.mark.parametrize("name, patient", [
    ("person1234_bacteria_5678.jpeg", "person1234"),
    ("person22_virus_55.jpeg", "person22"),
    ("person1_virus_12_3.jpeg", "person1"),
    ("IM-0115-0001.jpeg", "IM-0115"),
    ("IM-0117-0001-0002.jpeg", "IM-0117"),
    ("NORMAL2-IM-0115-0001.jpeg", "IM-0115"),
    ("scan.png", "scan"),
])
def test_patient_id(name, patient):
    assert patient_id(f"/data/train/X/{name}") == patient


def test_load_folder_and_split_have_no_shared_patient(phantom_folder):
    images = load_folder(phantom_folder, split="train")
    assert len(images) == 36 and set(images.labels) == {0, 1}
    train, val = split_by_patient(images, 0.25, seed=1)
    assert len(train) + len(val) == len(images)
    assert not set(train.patients) & set(val.patients)
    assert set(val.labels) == {0, 1}  # stratified: both classes on both sides


def test_split_class_folder_directly(phantom_folder):
    test = load_folder(phantom_folder / "test")
    assert len(test) == 12


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="shared Kermany data not present")
def test_real_data_patient_split():
    images = load_folder(SHARED_DATA, split="train")
    assert images.counts() == {"NORMAL": 1341, "PNEUMONIA": 3875}
    train, val = split_by_patient(images, 0.2, seed=0)
    assert not set(train.patients) & set(val.patients)
    assert 0.17 < len(val) / len(images) < 0.23
    share = lambda s: s.counts()["PNEUMONIA"] / len(s)  # noqa: E731
    assert abs(share(train) - share(val)) < 0.03


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_folder(tmp_path / "nope")
    (tmp_path / "train" / "NORMAL").mkdir(parents=True)
    with pytest.raises(DataError, match="PNEUMONIA"):
        load_folder(tmp_path)


def test_class_weights_balanced():
    w = class_weights(np.array([0] * 10 + [1] * 30))
    assert w[0] == pytest.approx(2.0) and w[1] == pytest.approx(40 / 60)


def test_pipeline_skips_unreadable_and_batches(phantom_folder, tmp_path):
    images = load_folder(phantom_folder, split="train")
    bad = tmp_path / "PNEUMONIA" / "broken.jpeg"
    bad.parent.mkdir()
    bad.write_text("nope")
    images.paths.append(bad)
    images.labels = np.append(images.labels, 1)
    pre = Preprocessing((32, 32), 1, "standardize")
    x, y, failures = load_arrays(images, pre)
    assert x.shape == (36, 32, 32, 1) and x.dtype == np.uint8 and len(y) == 36
    assert len(failures) == 1 and "broken.jpeg" in failures[0]
    ds = make_dataset(x, y, pre, batch_size=8, shuffle=True, augment=augmentation(robust=True))
    xb, yb = next(iter(ds))
    assert xb.shape == (8, 32, 32, 1) and yb.shape == (8,)
    assert abs(float(np.mean(xb))) < 1e-3  # standardised


def test_augmentation_changes_images_but_keeps_range(rng):
    x = rng.random((16, 32, 32, 1)).astype(np.float32)
    x[:, :4] = 1.0  # bright and dark bands, which brightness and contrast jitter push out
    x[:, -4:] = 0.0
    for robust in (False, True):
        out = np.asarray(augmentation(seed=0, robust=robust)(x, training=True))
        assert out.shape == x.shape and not np.allclose(out, x)
        assert out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0, (robust, out.min(), out.max())


def test_phantoms_are_deterministic_and_masked():
    a, b = make_phantoms(8, 48, seed=3), make_phantoms(8, 48, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.masks[a.labels == 1].any(axis=(1, 2)).all()
    assert not a.masks[a.labels == 0].any()


def test_robust_augmentation_reframes_and_changes_sharpness(rng):
    """Robust mode zooms in further (framing) and blurs or sharpens images (sharpness)."""
    import cv2

    from xaixray.data.augment import ROBUST_ZOOM_IN

    plain, robust = augmentation(seed=0), augmentation(robust=True, seed=0)
    zoom = {type(layer).__name__: layer for layer in robust.layers}["RandomZoom"]
    assert zoom.height_factor[0] == -ROBUST_ZOOM_IN
    assert "RandomSharpness" in {type(layer).__name__ for layer in robust.layers}
    assert "RandomSharpness" not in {type(layer).__name__ for layer in plain.layers}
    x = np.repeat(rng.random((1, 48, 48, 1)).astype("float32"), 16, axis=0)
    sharpness = [cv2.Laplacian(np.asarray(im)[:, :, 0], cv2.CV_32F).var()
                 for im in robust(x, training=True)]
    assert np.std(sharpness) > 0.05 * np.mean(sharpness)  # varies from image to image
