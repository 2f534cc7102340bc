"""Make the documentation's figures from the bundled model and sample X-rays.

    python docs/make_figures.py

Writes ``docs/images/demo-figure.png`` (the README and "Reading a report" figure),
``docs/images/demo-report-excerpt.json`` and ``docs/images/gradient-methods.png`` (the figure
of the gradient methods' pages). Run it after changing the model, the explainers or the
figure, and commit the results.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import xaixray

IMAGES = Path(__file__).resolve().parent / "images"
GRADIENT_METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "smoothgrad")


def gradient_figure(clf: xaixray.Classifier, xray: Path) -> Path:
    """The four gradient methods on one sample X-ray, side by side."""
    from xaixray.plots.explanation import figure_to_png

    [result] = xaixray.explain(clf, xray, methods=GRADIENT_METHODS, seed=0)
    path = IMAGES / "gradient-methods.png"
    path.write_bytes(figure_to_png(xaixray.plot_explanations(result), dpi=80))
    return path


def main() -> None:
    clf = xaixray.Classifier.load("default")
    xray = next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)
    [result] = xaixray.explain(clf, xray, methods=("gradcam", "lime", "shap"), seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        page = xaixray.write_report(result, Path(tmp) / "report")
        (IMAGES / "demo-figure.png").write_bytes(page.with_name("figure.png").read_bytes())
        report = json.loads(page.with_name("report.json").read_text())
    report["image"]["source"] = f"xrays/{xray.name}"
    report["model"] = {k: report["model"][k] for k in ("name", "threshold", "class_names")}
    for m in report["methods"].values():
        for key in ("params", "details", "signed", "seed"):
            m.pop(key, None)
    excerpt = {k: report[k] for k in ("xaixray_version", "image", "model", "prediction",
                                      "methods", "agreement", "errors")}
    (IMAGES / "demo-report-excerpt.json").write_text(json.dumps(excerpt, indent=2) + "\n")
    print(f"wrote {IMAGES / 'demo-figure.png'}, demo-report-excerpt.json and "
          f"{gradient_figure(clf, xray).name}")


if __name__ == "__main__":
    main()
