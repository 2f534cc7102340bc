"""Make the documentation's figures from the bundled model and sample X-rays.

    python docs/make_figures.py

Writes ``docs/images/demo-figure.png`` (the README and "Reading a report" figure),
``docs/images/demo-report-excerpt.json``, ``docs/images/gradient-methods.png`` (the figure of
the gradient methods' pages) and one figure per CAM and perturbation method page
(``docs/images/method-<name>.png``, the X-ray and that method's map). Run it after changing the
model, the explainers or the figure, and commit the results; ``--methods hirescam,rise`` remakes
only those methods' figures.
"""

from __future__ import annotations

import argparse
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
METHOD_PAGES = ("hirescam", "layercam", "scorecam", "occlusion", "rise")
"""Methods whose docs page shows a figure of their own."""


def method_figures(clf: xaixray.Classifier, xray: Path, methods: tuple[str, ...]) -> None:
    """``method-<name>.png``: the X-ray and one method's map, as in a report's figure."""
    from xaixray.plots import figure_to_png, plot_explanations

    [result] = xaixray.explain(clf, xray, methods=methods, seed=0, faithfulness=False)
    for m in methods:
        png = figure_to_png(plot_explanations(result, methods=[m]))
        (IMAGES / f"method-{m.replace('+', 'p')}.png").write_bytes(png)
        print(f"wrote {IMAGES / f'method-{m}.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", help="only these methods' page figures (comma-separated)")
    args = parser.parse_args()
    clf = xaixray.Classifier.load("default")
    xray = next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)
    if args.methods:
        method_figures(clf, xray, tuple(args.methods.split(",")))
        return
    method_figures(clf, xray, METHOD_PAGES)
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
