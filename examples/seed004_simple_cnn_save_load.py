"""Seed 004: the simple CNN, saved as a .keras file (never pickled) and loaded back.

    python examples/seed004_simple_cnn_save_load.py --quick            # phantoms, seconds
    python examples/seed004_simple_cnn_save_load.py --data chest_xray  # the Kaggle folder

The seed pickled its model. A pickle runs code when it is loaded, so xaixray refuses pickles and
saves a Keras archive that also carries the preprocessing, class names and threshold.
"""

import argparse
from pathlib import Path

import numpy as np

import xaixray
from xaixray import Classifier
from xaixray.data import make_phantoms

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="phantoms and the bundled X-rays")
source.add_argument("--data", type=Path, help="Kaggle-layout folder with train/")
parser.add_argument("--out", type=Path, default=Path("example-out/seed004"))
args = parser.parse_args()

# Conv32-pool-Conv64-pool-Flatten-Dense128-Dropout-softmax, 224x224x3 in the seed
size = {"input_size": (64, 64)} if args.quick else {}
clf = xaixray.build("simple_cnn", seed=0, **size)
data = make_phantoms(160, 64, seed=0) if args.quick else args.data
xaixray.train(clf, data, epochs=3 if args.quick else 15, verbose=2)

path = args.out / "simple_cnn.keras"
args.out.mkdir(parents=True, exist_ok=True)
clf.save(path, overwrite=True)  # atomic: a failed save never leaves half a file
loaded = Classifier.load(path)  # Keras safe mode: files with Python lambdas are refused
print(loaded)

xrays = xaixray.sample_images()
before, after = clf.predict_proba(xrays), loaded.predict_proba(xrays)
assert np.allclose(before, after, atol=1e-6), "the reloaded model predicts differently"
for xray, label, p in zip(xrays, loaded.predict(xrays), after[:, 1]):
    print(f"{xray.name:<45} {label:<10} P(PNEUMONIA) = {p:.3f}")
print(f"saved and reloaded {path} ({path.stat().st_size / 1e6:.1f} MB); same probabilities")
