"""Results display in notebooks: ``_repr_html_`` holds the figure as a PNG data URI and the key
numbers, writes no file, and works in a fresh ``import xaixray`` session."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from html import escape

import numpy as np
import pytest

import xaixray
from xaixray.data import make_phantoms

DATA_URI = re.compile(r'<img[^>]+src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _pngs(html: str) -> list[tuple[int, int]]:
    """``(width, height)`` of every inline PNG (each must decode)."""
    from PIL import Image

    sizes = []
    for data in DATA_URI.findall(html):
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            assert im.format == "PNG"
            sizes.append(im.size)
    return sizes


@pytest.fixture(scope="module")
def result(tiny_classifier):
    image = make_phantoms(1, 64, seed=3).images[0]
    [r] = xaixray.explain(tiny_classifier, image, methods=("gradcam", "lime"), num_samples=30,
                          faithfulness=True)
    return r


def test_explanation_set_shows_figure_prediction_agreement_and_verdicts(result, tmp_path,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    html = result._repr_html_()
    assert list(tmp_path.iterdir()) == []  # nothing written
    sizes = _pngs(html)
    assert len(sizes) == 2  # the side-by-side figure and the faithfulness curves
    assert 500 <= sizes[0][0] <= 1100  # a sensible inline size, not a print resolution
    assert f"{result.probability:.3f}" in html and result.prediction_name in html
    assert f"{result.model['threshold']:.3f}" in html and "Decision threshold" in html
    [pair] = result.agreement()
    assert "Agreement between methods" in html and f"{pair['spearman']:.3f}" in html
    for m in ("gradcam", "lime"):
        assert result.faithfulness["methods"][m]["verdict"] in html
    assert "<!DOCTYPE" not in html and "href=" not in html  # a fragment, no external assets


def test_explanation_shows_its_map_and_score(result):
    e = result.explanations["gradcam"]
    html = e._repr_html_()
    assert len(_pngs(html)) == 1
    assert f"{e.score:.3f}" in html and e.target_name in html and "gradcam" in html
    assert e._repr_png_().startswith(b"\x89PNG")


def test_evaluation_shows_metrics_confusion_matrix_and_roc(tiny_classifier):
    ph = make_phantoms(24, 32, seed=4)
    ev = xaixray.evaluate(tiny_classifier, ph)
    html = ev._repr_html_()
    assert len(_pngs(html)) == 2  # confusion matrix and ROC
    m = ev.metrics
    assert f"{m['accuracy']:.3f}" in html and f"{m['roc_auc']:.3f}" in html
    assert f"{m['sensitivity']:.3f}" in html and "95% CI" in html


def test_calibrated_classifier_shows_the_calibration(tiny_classifier):
    ph = make_phantoms(72, 32, seed=4)  # 36 positives: enough for the 95%-confidence rule
    calibrated = xaixray.calibrate(tiny_classifier, ph, "sensitivity", 0.9)
    html = calibrated._repr_html_()
    assert len(_pngs(html)) == 1  # confusion matrix at the new threshold
    c = calibrated.info["calibration"]
    assert "Calibration" in html and escape(c["rule"]) in html
    assert f"{calibrated.threshold:.3f}" in html and f"{c['ece_after']:.3f}" in html
    plain = tiny_classifier._repr_html_()  # not calibrated: what it is, no figure
    assert "tiny" in plain and _pngs(plain) == [] and "Calibration" not in plain


def test_audit_shows_summary_figure_table_and_verdicts(tiny_classifier):
    audit = xaixray.audit(tiny_classifier, phantoms=4, methods=["gradcam"], n=4,
                          randomization_n=0)
    html = audit._repr_html_()
    assert len(_pngs(html)) == 1
    s = audit.summary()["gradcam"]
    assert f"{s['deletion_auc']:.3f}" in html and f"{s['border_share']:.3f}" in html
    assert "Verdicts" in html and "deletion:" in html


def test_display_works_in_a_fresh_session_from_a_subpackage_import():
    # the renderers are registered on the first display, whatever was imported first, and
    # importing xaixray loads no figure code
    code = (
        "import sys, numpy as np\n"
        "import xaixray\n"
        "assert 'matplotlib' not in sys.modules and 'xaixray.reports' not in sys.modules\n"
        "from xaixray.explainers import Explanation\n"
        "img = np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))\n"
        "heat = np.zeros((64, 64), np.float32); heat[10:20, 30:40] = 1\n"
        "e = Explanation('gradcam', 1, 'PNEUMONIA', 0.8125, heat, False, image=img)\n"
        "html = e._repr_html_()\n"
        "assert 'data:image/png;base64,' in html and '0.812' in html, html[:300]\n"
        "assert e._repr_png_()[:4] == b'\\x89PNG'\n"
        "assert 'tensorflow' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_type_without_renderer_displays_as_its_repr():
    from xaixray import display

    assert display.html(object()) is None and display.png(np.zeros(1)) is None


def test_a_one_vs_rest_calibration_labels_its_two_by_two_matrix_with_its_two_sides(
        tmp_path, monkeypatch):
    import keras

    from xaixray import Classifier
    from xaixray.data import load_folder, write_subtype_folder
    from xaixray.labels import SUBTYPE_CLASS_NAMES
    from xaixray.reports import notebook

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    clf = Classifier.from_keras(model, class_names=SUBTYPE_CLASS_NAMES, positive_class="VIRAL",
                                name="tiny3", scaling="unit")
    images = load_folder(write_subtype_folder(tmp_path, n=60, size=32, test_fraction=0) / "train",
                         None, SUBTYPE_CLASS_NAMES)
    calibrated = xaixray.calibrate(clf, images, "sensitivity", 0.9, method="empirical")
    m = calibrated.info["calibration"]["metrics"]
    assert m["class_names"] == ["NORMAL/BACTERIA", "VIRAL"]
    assert np.asarray(m["confusion_matrix"]).shape == (2, 2)
    drawn, draw = [], notebook.plot_confusion_matrix

    def record(metrics, *args, **kwargs):  # the class names on the figure's axis
        fig = draw(metrics, *args, **kwargs)
        drawn.append([t.get_text() for t in fig.axes[0].get_xticklabels()])
        return fig

    monkeypatch.setattr(notebook, "plot_confusion_matrix", record)
    calibrated._repr_html_()
    del calibrated.info["calibration"]["metrics"]["class_names"]  # saved by an older version
    calibrated._repr_html_()
    assert drawn == [["NORMAL/BACTERIA", "VIRAL"]] * 2
