"""Orchestration: predicting many files keeps their order and goes on past bad ones."""

from __future__ import annotations

import numpy as np
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
