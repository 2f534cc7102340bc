"""Explain a folder of X-rays, then read every report.json programmatically.

    python examples/explain_a_folder_and_read_reports.py --quick              # bundled X-rays
    python examples/explain_a_folder_and_read_reports.py --data my_xrays/     # any folder

Each image gets a folder with figure.png, report.json and report.html, and the run writes an
index.html. report.json is plain JSON: no xaixray is needed to read it back.
"""

import argparse
import json
from pathlib import Path

import xaixray
from xaixray.imaging import is_image_file

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="the X-rays bundled with xaixray")
source.add_argument("--data", type=Path, help="a folder of images (searched recursively)")
parser.add_argument("--model", default="default", help=".keras file (default: bundled model)")
parser.add_argument("--out", type=Path, default=Path("example-out/folder"))
args = parser.parse_args()

if args.quick:
    images = xaixray.sample_images()
else:
    images = sorted(p for p in args.data.rglob("*") if p.is_file() and is_image_file(p))

clf = xaixray.Classifier.load(args.model)
fast = {"num_samples": 300, "max_evals": 300} if args.quick else {}
run = xaixray.explain_paths(clf, images, args.out, methods=["gradcam", "lime", "shap"],
                            overwrite=True, **fast)  # goes on past unreadable files
print(f"{len(run.reports)} reports, index: {run.index}; could not explain: {run.failures}")

# read the reports back with plain json
print(f"\n{'image':<42} {'prediction':<10} {'P':>5}  Grad-CAM peak   LIME vs SHAP Spearman")
for page in run.reports:
    report = json.loads(page.with_name("report.json").read_text())
    name = Path(report["image"]["source"]).name
    pred = report["prediction"]
    peak = report["methods"]["gradcam"]["summary"]["peak"]
    pair = next(a for a in report["agreement"] if a["methods"] == ["lime", "shap"])
    print(f"{name:<42} {pred['class']:<10} {pred['probability']:>5.2f}  {str(peak):<15} "
          f"{pair['spearman']}")
