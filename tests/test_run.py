"""Orchestration: predicting many files keeps their order and goes on past bad ones."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_phantom_images

from xaixray.run import predict_files


def test_predict_files_streams_in_order_and_reports_bad_files(tiny_classifier, tmp_path):
    image_files = write_phantom_images(tmp_path, 5, 40, seed=3)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    paths = [image_files[0], bad, *image_files[1:]]
    rows = list(predict_files(tiny_classifier, paths, chunk=2))
    assert [r.path for r in rows] == paths
    assert [r.ok for r in rows] == [True, False] + [True] * (len(paths) - 2)
    assert "broken.png" in rows[1].error and rows[1].prediction is None
    expected = tiny_classifier.predict_proba([str(p) for p in image_files])
    got = np.array([[r.probabilities[c] for c in tiny_classifier.class_names]
                    for r in rows if r.ok])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    decided = tiny_classifier.predict([str(p) for p in image_files])
    assert [r.prediction for r in rows if r.ok] == list(decided)


def test_a_folder_run_longer_than_one_block_keeps_input_order(tiny_classifier, tmp_path,
                                                               monkeypatch):
    """Images are read ahead, explained in blocks and written in a thread: the reports, the
    index and the failures still follow the input order, and each map is the one-image map."""
    import json

    from xaixray.run import explain, explanations, folder

    monkeypatch.setattr(folder, "CHUNK", 3)
    image_files = write_phantom_images(tmp_path / "in", 7, 40, seed=5)
    bad = tmp_path / "in" / "broken.png"
    bad.write_bytes(b"not a png")
    paths = [*image_files[:4], bad, *image_files[4:]]
    run = explanations.explain_paths(tiny_classifier, paths, tmp_path / "out",
                                     methods="gradcam", faithfulness=False)
    assert [p.parent.name for p in run.reports] == [p.stem for p in image_files]
    assert len(run.failures) == 1 and "broken.png" in run.failures[0]
    index = (tmp_path / "out" / "index.html").read_text()
    positions = [index.index(f'href="{p.stem}/report.html"') for p in image_files]
    assert positions == sorted(positions)
    alone = explain(tiny_classifier, image_files[5], methods="gradcam", faithfulness=False)[0]
    written = json.loads((tmp_path / "out" / image_files[5].stem / "report.json").read_text())
    assert written["probabilities"] == pytest.approx(
        dict(zip(tiny_classifier.class_names, alone.probabilities.tolist())), abs=1e-6)


def test_resumed_unreadable_and_new_inputs_in_one_block_keep_input_order(tiny_classifier,
                                                                          tmp_path,
                                                                          monkeypatch):
    from xaixray.run import explanations, folder

    monkeypatch.setattr(folder, "CHUNK", 4)
    image_files = write_phantom_images(tmp_path / "in", 5, 40, seed=6)
    bad = tmp_path / "in" / "broken.png"
    bad.write_bytes(b"not a png")
    out = tmp_path / "out"
    explanations.explain_paths(tiny_classifier, [image_files[1], image_files[3]], out,
                               methods="gradcam", faithfulness=False)
    paths = [image_files[0], image_files[1], bad, image_files[2], image_files[3],
             image_files[4]]
    run = explanations.explain_paths(tiny_classifier, paths, out, methods="gradcam",
                                     faithfulness=False, resume=True)
    assert run.resumed == 2
    assert [p.parent.name for p in run.reports] == [p.stem for p in image_files]
    index = (out / "index.html").read_text()
    positions = [index.index(f'href="{p.stem}/report.html"') for p in image_files]
    assert positions == sorted(positions)
