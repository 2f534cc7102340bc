"""Seed 001: compare the row-LSTM and MobileNet; Grad-CAM on MobileNet, LIME and SHAP on the LSTM.

    python examples/seed001_row_lstm_vs_mobilenet.py --quick            # phantoms, < 1 min
    python examples/seed001_row_lstm_vs_mobilenet.py --data chest_xray --weights imagenet

The row-LSTM reads a 150x150x3 image as 150 rows of 450 numbers: it has no convolution, so
Grad-CAM cannot explain it, while LIME and SHAP only need its predictions.
"""

import argparse
from pathlib import Path

import xaixray
from xaixray.data import make_phantoms

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="phantoms and a bundled X-ray")
source.add_argument("--data", type=Path, help="Kaggle-layout folder with train/ and test/")
parser.add_argument("--weights", default="none", help="MobileNet base: imagenet (network), none")
parser.add_argument("--out", type=Path, default=Path("example-out/seed001"))
args = parser.parse_args()
weights = None if args.weights == "none" else args.weights

size = {"input_size": (64, 64)} if args.quick else {}
if args.quick:
    train, val, test = (make_phantoms(n, 64, seed=s) for n, s in ((120, 0), (40, 1), (40, 2)))
else:
    train, val, test = args.data, None, args.data

# the seed freezes MobileNet's base: with weights=None that base stays random and the model can
# only learn its small head, so expect chance-level MobileNet scores without ImageNet weights
models = {"row_lstm": xaixray.build("row_lstm", seed=0, **size),
          "mobilenet": xaixray.build("mobilenet", weights=weights, seed=0, **size)}
print(f"{'model':<10} {'accuracy':>9} {'ROC AUC':>8} {'sens.':>6} {'spec.':>6}")
for name, clf in models.items():
    xaixray.train(clf, train, val, epochs=3 if args.quick else 15, verbose=0)
    m = xaixray.evaluate(clf, test).metrics
    auc, sens, spec = ("n/a" if m[k] is None else f"{m[k]:.3f}"
                       for k in ("roc_auc", "sensitivity", "specificity"))
    print(f"{name:<10} {m['accuracy']:>9.3f} {auc:>8} {sens:>6} {spec:>6}")

xray = [p for p in xaixray.sample_images() if "PNEUMONIA" in p.name][0]
# each model gets the methods that can explain it; asking Grad-CAM of the LSTM would give a
# panel saying it needs a convolutional layer, and the other methods would still run
plan = {"mobilenet": ["gradcam"], "row_lstm": ["lime", "shap"]}
for name, methods in plan.items():
    [result] = xaixray.explain(models[name], xray, methods=methods, num_samples=200,
                               max_evals=200)
    page = xaixray.write_report(result, args.out / name, overwrite=True)
    print(f"{name}: {result.prediction_name} (P = {result.probability:.2f}); open {page}")
