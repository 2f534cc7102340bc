"""Audit a model: how faithful are its maps? Deletion/insertion, randomisation, shortcuts.

    python examples/audit_a_model.py --quick                  # a model trained on phantoms
    python examples/audit_a_model.py --data chest_xray_calibration  # the bundled model, real data

--quick trains a small CNN on generated phantoms, whose lesion masks are known, so the audit can
also tell whether each map points at the lesion (the pointing game). --data audits the bundled
model on a labelled folder (DIR/test/{NORMAL,PNEUMONIA} or DIR/{NORMAL,PNEUMONIA}).
"""

import argparse
import json
from pathlib import Path

import xaixray
from xaixray.data import make_phantoms

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="phantoms with known lesions")
source.add_argument("--data", type=Path, help="a labelled folder of X-rays")
parser.add_argument("--n", type=int, default=100, help="images to audit (with --data)")
parser.add_argument("--out", type=Path, default=Path("example-out/audit"))
args = parser.parse_args()

if args.quick:
    clf = xaixray.build("compact_cnn", input_size=(64, 64), seed=0)
    xaixray.train(clf, make_phantoms(200, 64, seed=0), make_phantoms(40, 64, seed=1),
                  epochs=4, augment=False, verbose=0)
    print(f"trained on phantoms: validation AUC {clf.info['validation']['roc_auc']:.3f}")
    audit = xaixray.audit(clf, phantoms=16, methods=["gradcam", "lime"], num_samples=300,
                          randomization_n=2)
else:
    clf = xaixray.Classifier.load("default")
    audit = xaixray.audit(clf, args.data, methods=["gradcam", "gradcam++", "lime", "shap"],
                          n=args.n, progress=True)

files = audit.write(args.out, overwrite=True)  # audit.json, audit.md, audit.html
summary = json.loads(files["json"].read_text())  # plain JSON, for any other tool
print(f"\n{summary['n_images']} images; per method (mean over images):")
for method, s in summary["methods"].items():
    verdict = ("better" if s["deletion_auc"] < s["deletion_auc_random"]
               and s["insertion_auc"] > s["insertion_auc_random"] else "NOT better")
    pointing = "n/a" if s["pointing_game"] is None else f"{s['pointing_game']:.2f}"
    rho = s["randomization_spearman"]
    print(f"  {method:<10} {verdict} than random on deletion and insertion; pointing game "
          f"{pointing}; Spearman after randomisation "
          f"{'n/a' if rho is None else f'{rho:.2f}'}; border share {s['border_share']:.2f}")
print(f"open {files['html']}")
