"""Seed 002: ResNet50 transfer learning with the last 15 layers trainable, then Grad-CAM.

    python examples/seed002_resnet50_transfer.py --quick                # phantoms, < 1 min
    python examples/seed002_resnet50_transfer.py --data chest_xray      # ImageNet weights

ImageNet weights are downloaded by Keras on first use. Without network access that fails; the
script says so and falls back to random initialisation (weights=None), which is what --quick uses.
"""

import argparse
from pathlib import Path

import xaixray
from xaixray import ModelError
from xaixray.data import make_phantoms

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="phantoms and a bundled X-ray")
source.add_argument("--data", type=Path, help="Kaggle-layout folder with train/ and test/")
parser.add_argument("--weights", default=None, help="imagenet (default with --data), none or FILE")
parser.add_argument("--out", type=Path, default=Path("example-out/seed002"))
args = parser.parse_args()

weights = args.weights or ("none" if args.quick else "imagenet")
weights = None if weights == "none" else weights
size = {"input_size": (64, 64)} if args.quick else {}  # the seed uses 150x150x3
try:
    clf = xaixray.build("resnet50", weights=weights, seed=0, **size)
except ModelError as exc:  # offline: say why, then train from scratch
    print(f"ImageNet weights unavailable: {exc}\nfalling back to weights=None")
    clf = xaixray.build("resnet50", weights=None, seed=0, **size)
trainable = sum(layer.trainable for layer in clf.model.layers[0].layers)
print(f"{clf.name}: {trainable} trainable base layers, weights={clf.info['weights']}")

if args.quick:
    train, val, test = (make_phantoms(n, 64, seed=s) for n, s in ((80, 0), (24, 1), (24, 2)))
else:
    train, val, test = args.data, None, args.data
xaixray.train(clf, train, val, epochs=2 if args.quick else 15, verbose=2)  # Adam 1e-4, BCE
print({k: round(v, 3) for k, v in xaixray.evaluate(clf, test).metrics.items()
       if k in ("accuracy", "roc_auc", "sensitivity", "specificity") and v is not None})

# Grad-CAM finds conv5_block3_out inside the nested ResNet50 by itself
xray = [p for p in xaixray.sample_images() if "PNEUMONIA" in p.name][0]
[result] = xaixray.explain(clf, xray, methods=["gradcam", "gradcam++"])
print(f"Grad-CAM layer: {result.explanations['gradcam'].params['layer']}")
print(f"open {xaixray.write_report(result, args.out / 'report', overwrite=True)}")
