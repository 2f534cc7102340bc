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


def _labelled_folder(bases: list[np.ndarray], root) -> None:
    import cv2

    for i, im in enumerate(bases):
        folder = root / ("NORMAL" if i < 8 else "PNEUMONIA")
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"x{i}.png"), im if i < 8 else np.full_like(im, 255))
    # a mask beside a NORMAL X-ray is never an X-ray to implant into
    cv2.imwrite(str(root / "NORMAL" / "x0_mask.png"), np.full_like(bases[0], 255))


def test_implants_from_a_folder_use_its_normal_xrays_only(bases, tmp_path):
    from xaixray.data import implants_from_folder

    _labelled_folder(bases, tmp_path)
    ph = implants_from_folder(tmp_path, 50, 64, "lesion", seed=3)
    assert len(ph) == 8  # the 8 NORMAL files, not the 4 white PNEUMONIA ones, not the mask
    assert ph.images.mean(axis=(1, 2)).max() < 200
    assert ph.kind == "implant" and str(tmp_path) in ph.description
    again = implants_from_folder(tmp_path, 50, 64, "lesion", seed=3)
    np.testing.assert_array_equal(ph.images, again.images)
    import cv2

    for name in ("NORMAL", "PNEUMONIA"):
        (tmp_path / "few" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "few" / name / "one.png"), bases[0])
    with pytest.raises(DataError, match="few: implants need at least 2 NORMAL X-rays, found 1"):
        implants_from_folder(tmp_path / "few", 4)


def test_an_unreadable_normal_file_is_listed_and_the_next_one_used(bases, tmp_path):
    from xaixray.data import implants_from_folder

    _labelled_folder(bases, tmp_path)
    (tmp_path / "NORMAL" / "broken.png").write_bytes(b"not a png")
    ph = implants_from_folder(tmp_path, 8, 64, "lesion", seed=3)
    assert len(ph) == 8  # all eight readable NORMAL films, past the broken one
    assert len(ph.skipped) == 1 and "broken.png" in ph.skipped[0]
    (tmp_path / "NORMAL" / "broken.png").unlink()
    assert implants_from_folder(tmp_path, 8, 64, "lesion", seed=3).skipped == []


def test_audit_implants_scores_the_maps_against_the_implant_masks(bases, tiny_model_path,
                                                                 tmp_path, capsys):
    import json

    from xaixray.cli import main

    _labelled_folder(bases, tmp_path / "set")
    out = tmp_path / "out"
    assert main(["audit", str(tiny_model_path), str(tmp_path / "set"), "--implants", "8",
                 "--implant-variant", "shortcut", "--methods", "gradcam",
                 "--randomization-n", "0", "--out", str(out)]) == 0
    assert "shortcut implants in NORMAL X-rays" in capsys.readouterr().out
    audit = json.loads((out / "audit.json").read_text())
    assert len(audit["images"]) == 8
    assert all(row["source"].startswith("implant-") for row in audit["images"])
    # every shortcut implant has its marker as mask, in both classes
    assert audit["masks"]["images_with_masks"] == 8
    assert main(["audit", str(tiny_model_path), str(tmp_path / "set"), "--implants", "4",
                 "--phantoms", "4", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "--phantoms or --implants" in err and err.count("\n") == 1
