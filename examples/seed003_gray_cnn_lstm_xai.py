"""Seed 003: the grayscale CNN-LSTM with focal loss, explained by Grad-CAM, LIME and SHAP.

    python examples/seed003_gray_cnn_lstm_xai.py --quick            # phantoms, under a minute
    python examples/seed003_gray_cnn_lstm_xai.py --data chest_xray  # the Kaggle folder

The seed's headline workflow: 128x128x1 input, three conv blocks with batch normalisation, the
feature map read as a (16, 2048) sequence by LSTMs of 256 and 128 units, sigmoid output, focal
loss; then the three explanations side by side with how much they agree.
"""

import argparse
from pathlib import Path

import xaixray
from xaixray.data import make_phantoms

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="phantoms and a bundled X-ray")
source.add_argument("--data", type=Path, help="Kaggle-layout folder with train/ and test/")
parser.add_argument("--out", type=Path, default=Path("example-out/seed003"))
args = parser.parse_args()

size = {"input_size": (64, 64)} if args.quick else {}  # the seed's input is 128x128x1
clf = xaixray.build("gray_cnn_lstm", seed=0, **size)  # BinaryFocalCrossentropy(gamma=2)
print(clf, "loss:", clf.info["loss"])
if args.quick:
    train, val = make_phantoms(160, 64, seed=0), make_phantoms(40, 64, seed=1)
    xaixray.train(clf, train, val, epochs=2, verbose=2)
else:  # validation split from train/ by patient; threshold kept at >= 0.97 sensitivity
    xaixray.train(clf, args.data, epochs=30, verbose=2, sensitivity=0.97)
    print(xaixray.evaluate(clf, args.data).metrics["roc_auc"])

# one call, three methods; each heatmap comes back in the X-ray's own frame
xray = [p for p in xaixray.sample_images() if "PNEUMONIA" in p.name][0]
methods = ["gradcam", "lime", "shap"]
options = {"num_samples": 300, "max_evals": 300} if args.quick else {}
[result] = xaixray.explain(clf, xray, methods=methods, seed=0, **options)
for name, e in result.explanations.items():
    s = e.summary()
    print(f"{name:>8}: explains {e.target_name}, peak at {s['peak']}, "
          f"half the positive evidence in {s['half_mass_area']} of the image, {e.seconds:.1f} s")
for pair in result.agreement():  # rank correlation and top-20% overlap (chance 0.2)
    print(f"{' vs '.join(pair['methods']):>16}: Spearman {pair['spearman']}, "
          f"top-20% overlap {pair['top_overlap']}")
print(f"figure and report: {xaixray.write_report(result, args.out / 'report', overwrite=True)}")
