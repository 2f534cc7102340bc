"""Implants in real-looking X-rays: same area and intensity for both classes, masks beside them."""

from __future__ import annotations

import numpy as np
import pytest

from xaixray.data import load_folder, make_implants, make_phantoms, write_implants
from xaixray.errors import DataError


@pytest.fixture(scope="module")
def bases() -> list[np.ndarray]:
    return list(make_phantoms(12, 96, pneumonia_fraction=0.0, seed=4).images)


def test_lesion_and_control_add_the_same_intensity_over_the_same_area(bases):
    same = [bases[0]] * 12  # one base image: the classes differ by the implant alone
    ph = make_implants(same, 96, "lesion", seed=1)
    assert set(ph.labels.tolist()) == {0, 1}
    base = make_implants(same, 96, "lesion", seed=1, contrast=0.0).images.astype(float)
    added = ph.images.astype(float).sum(axis=(1, 2)) - base.sum(axis=(1, 2))
    control = (ph.labels == 0) & ph.masks.any(axis=(1, 2))
    plain = (ph.labels == 0) & ~control
    assert control.any() and plain.any() and (ph.masks.any(axis=(1, 2)) == ~plain).all()
    assert added[ph.labels == 1].min() > 0 and added[control].min() > 0
    np.testing.assert_array_equal(ph.images[plain], base[plain].astype(np.uint8))
    # same total brightness per implant footprint area, lesion or control
    per_area = added[~plain] / ph.masks[~plain].sum(axis=(1, 2))
    labels = ph.labels[~plain]
    assert abs(per_area[labels == 1].mean() - per_area[labels == 0].mean()) \
        < 0.1 * per_area.mean()
    # the positives' brightness sits in the middle of the footprint, the controls' in a ring
    for image, b, mask, label in zip(ph.images[~plain].astype(float), base[~plain],
                                     ph.masks[~plain], labels):
        ys, xs = np.nonzero(mask)
        centre = (image - b)[int(ys.mean()), int(xs.mean())]
        assert (centre > 20) == bool(label)


def test_shortcut_marker_corner_gives_the_label(bases):
    ph = make_implants(bases, 96, "shortcut", seed=0)
    for mask, label in zip(ph.masks, ph.labels):
        ys, xs = np.nonzero(mask)
        assert ys.max() < 96 * 0.3
        assert (xs.mean() < 48) == bool(label)


def test_written_implants_pair_every_image_with_its_mask(bases, tmp_path):
    ph = make_implants(bases, 64, "lesion", seed=2)
    paths = write_implants(ph, tmp_path)
    images = load_folder(tmp_path)
    assert sorted(images.paths) == sorted(paths)
    assert len(images.masks) == int(ph.masks.any(axis=(1, 2)).sum())
    assert images.counts() == {"NORMAL": int((ph.labels == 0).sum()),
                               "PNEUMONIA": int((ph.labels == 1).sum())}
    with pytest.raises(DataError, match="variant"):
        make_implants(bases, 64, "tattoo")
