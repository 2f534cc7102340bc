"""``NAME_mask.png`` files beside images are masks, never inputs, for every command (issue #29).

A labelled folder ``test/{NORMAL,PNEUMONIA}`` whose PNEUMONIA images each have their lesion mask
beside them, plus one mask with no image: every command must see only the X-rays, and the audit
must score the pointing game on every masked image.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xaixray.data import list_folder, load_folder, split_masks

N_PER_CLASS = 10


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xaixray", *args], capture_output=True,
                          text=True, cwd=cwd)


@pytest.fixture(scope="module")
def masked_folder(tmp_path_factory) -> Path:
    """``root/{train,test}/{NORMAL,PNEUMONIA}``; PNEUMONIA images have masks; one orphan."""
    import cv2

    from xaixray.data import make_phantoms

    root = tmp_path_factory.mktemp("masked")
    ph = make_phantoms(8 * N_PER_CLASS, 48, seed=3)
    count = {}
    for i, (image, label, mask) in enumerate(zip(ph.images, ph.labels, ph.masks)):
        split = "test" if i % 2 else "train"
        cls = ("NORMAL", "PNEUMONIA")[label]
        if count.get((split, cls), 0) >= N_PER_CLASS:
            continue
        count[(split, cls)] = count.get((split, cls), 0) + 1
        folder = root / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"person{i}_bacteria_{i}" if label else f"IM-{i:04d}-0001"
        cv2.imwrite(str(folder / f"{stem}.png"), image)
        if label:
            cv2.imwrite(str(folder / f"{stem}_mask.png"), mask.astype(np.uint8) * 255)
    assert all(v == N_PER_CLASS for v in count.values()), count
    for split in ("train", "test"):  # a mask whose image is missing
        cv2.imwrite(str(root / split / "PNEUMONIA" / "person999_virus_1_mask.png"),
                    np.full((48, 48), 255, np.uint8))
    return root


@pytest.fixture(scope="module")
def eager_model(tmp_path_factory, tiny_classifier) -> Path:
    """The tiny model with a threshold that calls every image PNEUMONIA, so that every masked
    image is a positive prediction the pointing game scores."""
    path = tmp_path_factory.mktemp("eager") / "eager.keras"
    tiny_classifier.__class__(tiny_classifier.model, tiny_classifier.preprocessing,
                              threshold=1e-6, name="eager").save(path)
    return path


def no_masks(paths) -> bool:
    return all(not Path(str(p)).stem.endswith("_mask") for p in paths)


def test_the_rule_pairs_masks_with_their_images_and_lists_orphans(tmp_path):
    for name in ("a.jpeg", "a_mask.png", "b.png", "b_MASK.png", "c_mask.png", "d_mask.jpeg",
                 "d.png", "_mask.png"):
        (tmp_path / name).write_bytes(b"")
    found = list_folder(tmp_path)
    assert [p.name for p in found.images] == ["_mask.png", "a.jpeg", "b.png", "d.png"]
    assert {i.name: m.name for i, m in found.masks.items()} == {
        "a.jpeg": "a_mask.png", "b.png": "b_MASK.png", "d.png": "d_mask.jpeg"}
    assert [p.name for p in found.orphans] == ["c_mask.png"]
    # an image and its mask in different folders do not pair
    other = split_masks([tmp_path / "x" / "e.png", tmp_path / "y" / "e_mask.png"])
    assert [p.name for p in other.orphans] == ["e_mask.png"] and not other.masks


def test_load_folder_keeps_masks_out_and_counts_them(masked_folder):
    images = load_folder(masked_folder, split="test")
    assert len(images) == 2 * N_PER_CLASS and no_masks(images.paths)
    assert images.mask_counts() == {"NORMAL": {"images": N_PER_CLASS, "masks": 0},
                                    "PNEUMONIA": {"images": N_PER_CLASS, "masks": N_PER_CLASS}}
    assert [p.name for p in images.orphan_masks] == ["person999_virus_1_mask.png"]
    sub = images.subset([0, len(images) - 1])
    assert len(sub.masks) == 1 and sub.paths[1] in sub.masks


def test_audit_scores_every_masked_image_and_no_mask(masked_folder, eager_model, tmp_path):
    out = tmp_path / "audit"
    r = run_cli("audit", str(eager_model), str(masked_folder), "--methods", "gradcam",
                "--n", "100", "--randomization-n", "0", "--out", str(out))
    assert r.returncode == 0, r.stderr
    audit = json.loads((out / "audit.json").read_text())
    assert audit["n_images"] == 2 * N_PER_CLASS and no_masks(im["source"]
                                                              for im in audit["images"])
    pneumonia = [im for im in audit["images"] if "PNEUMONIA" in im["source"]]
    assert len(pneumonia) == N_PER_CLASS
    assert all(im["methods"]["gradcam"]["pointing_game"] is not None for im in pneumonia)
    assert audit["methods"]["gradcam"]["intervals"]  # the means are over X-rays only
    assert audit["masks"]["images_with_masks"] == N_PER_CLASS
    assert audit["masks"]["by_class"]["PNEUMONIA"] == {"images": N_PER_CLASS,
                                                       "masks": N_PER_CLASS}
    assert audit["masks"]["orphans"] == ["person999_virus_1_mask.png"]
    assert f"Masks: for {N_PER_CLASS} of {N_PER_CLASS} PNEUMONIA images" in r.stdout
    assert "1 mask file(s) with no image beside them" in r.stderr


def test_evaluate_and_calibrate_see_only_the_xrays(masked_folder, eager_model, tmp_path):
    r = run_cli("evaluate", str(eager_model), str(masked_folder), "--json",
                str(tmp_path / "m.json"))
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "m.json").read_text())
    assert int(np.sum(m["confusion_matrix"])) == 2 * N_PER_CLASS
    assert "person999_virus_1_mask.png" in r.stderr  # the orphan, in one note
    assert len([line for line in r.stderr.splitlines() if "mask file" in line]) == 1

    r = run_cli("calibrate", str(eager_model), str(masked_folder), "--rule", "empirical",
                "--out", str(tmp_path / "cal.keras"))
    assert r.returncode == 0, r.stderr
    from xaixray.classifier import read_metadata

    c = read_metadata(tmp_path / "cal.keras")["info"]["calibration"]
    assert c["n"] == 2 * N_PER_CLASS and c["counts"] == {"NORMAL": N_PER_CLASS,
                                                         "PNEUMONIA": N_PER_CLASS}
    assert c["data"] == str(masked_folder / "test")


def test_explain_and_predict_folders_skip_masks(masked_folder, eager_model, tmp_path):
    folder = masked_folder / "test"
    r = run_cli("predict", str(eager_model), str(folder), "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 2 * N_PER_CLASS and no_masks(row["image"] for row in rows)

    out = tmp_path / "reports"
    r = run_cli("explain", str(eager_model), str(folder / "PNEUMONIA"), "--methods", "gradcam",
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    reports = sorted(p.parent.name for p in out.glob("*/report.json"))
    assert len(reports) == N_PER_CLASS and no_masks(reports)
    assert "mask file(s) with no image beside them" in r.stderr
    # a file named on its own is an input, mask or not: the user asked for it
    r = run_cli("predict", str(eager_model), str(next(folder.glob("PNEUMONIA/*_mask.png"))))
    assert r.returncode == 0, r.stderr


def test_train_sees_only_the_xrays(masked_folder, tmp_path):
    out = tmp_path / "m.keras"
    r = run_cli("train", "--arch", "compact_cnn", "--data", str(masked_folder), "--out",
                str(out), "--epochs", "1", "--input-size", "32", "--batch-size", "8",
                "--val-fraction", "0.25")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("train:"))
    train_part, val_part = line.removeprefix("train: ").split("; validation: ")
    assert int(train_part.split()[0]) + int(val_part.split()[0]) == 2 * N_PER_CLASS


def test_the_training_callback_leaves_masks_out_of_its_images(masked_folder):
    from xaixray.run.callback import image_inputs

    found = image_inputs(masked_folder / "test" / "PNEUMONIA")
    assert len(found) == N_PER_CLASS and no_masks(found)
