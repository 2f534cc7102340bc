"""``xaixray audit``: the documented audit.json, stratified samples, bad files, the command."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import xaixray
from xaixray.cli import main
from xaixray.data import make_phantoms
from xaixray.reports import ReportError
from xaixray.run.audit import _stratified

REQUIRED = ("deletion_auc", "deletion_auc_random", "insertion_auc", "insertion_auc_random",
            "randomization_spearman", "pointing_game", "border_share", "outside_body_share")


def test_audit_on_phantoms_has_the_documented_shape(phantom_model, tmp_path):
    clf, _ = phantom_model
    result = xaixray.audit(clf, phantoms=12, methods=["gradcam", "lime"], n=12, seed=0,
                           randomization_n=2, randomization_steps=2, num_samples=60)
    d = json.loads(json.dumps(result.to_dict()))  # plain JSON types only
    assert d["model"] == "phantom_cnn" and d["n_images"] == 12
    assert d["counts"]["correct"] + d["counts"]["incorrect"] == 12
    for m in ("gradcam", "lime"):
        s = d["methods"][m]
        assert set(REQUIRED) <= set(s)
        for key in REQUIRED:
            assert isinstance(s[key], float), (m, key, s[key])
        assert 0 <= s["pointing_game"] <= 1 and 0 <= s["border_share"] <= 1
        assert s["intervals"]["deletion_auc"][0] <= s["deletion_auc"] <= \
            s["intervals"]["deletion_auc"][1]
    rows = [im["methods"]["gradcam"] for im in d["images"]]
    assert sum(r["randomization_spearman"] is not None for r in rows) == 2  # the subset only
    assert set(d["groups"]) == {"correct", "incorrect"}

    files = result.write(tmp_path / "audit")
    assert json.loads(files["json"].read_text())["n_images"] == 12
    assert "| gradcam |" in files["markdown"].read_text()
    assert "Faithfulness audit: phantom_cnn" in files["html"].read_text()
    with pytest.raises(ReportError, match="not empty"):
        result.write(tmp_path / "audit")  # a finished audit is never overwritten silently


def test_stratified_sample_keeps_the_class_proportions():
    labels = np.array([0] * 30 + [1] * 70)
    chosen = _stratified(labels, 10, seed=0)
    assert len(set(chosen)) == 10 and np.bincount(labels[chosen]).tolist() == [3, 7]
    assert np.array_equal(chosen, _stratified(labels, 10, seed=0))  # deterministic
    assert len(_stratified(labels, 500, seed=0)) == 100
    assert len(_stratified(np.array([0] * 5 + [1] * 5), 9, seed=0)) == 9  # one left out


def test_audit_goes_on_past_a_bad_image(tiny_classifier, tmp_path):
    images = make_phantoms(6, 40, seed=2)
    for i, (im, label) in enumerate(zip(images.images, images.labels)):
        folder = tmp_path / "set" / ("NORMAL", "PNEUMONIA")[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"c{i}.png"), im)
    (tmp_path / "set" / "NORMAL" / "broken.png").write_bytes(b"no image")
    result = xaixray.audit(tiny_classifier, tmp_path / "set", methods=["gradcam"],
                           randomization_n=0)
    assert len(result.images) == 6 and len(result.failures) == 1
    assert "broken.png" in result.failures[0]


def test_audit_command(tiny_model_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["audit", str(tiny_model_path), "--phantoms", "6", "--methods", "gradcam",
                 "--randomization-n", "1", "--randomization-steps", "2", "--out",
                 str(out)]) == 0
    assert "deletion AUC" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["audit.html", "audit.json", "audit.md"]
    assert main(["audit", str(tiny_model_path), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "--phantoms" in err and "\n" == err[-1] and err.count("\n") == 1
