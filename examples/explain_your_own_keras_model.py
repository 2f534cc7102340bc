"""Explain a Keras model written without xaixray: from the shell and from Python.

    python examples/explain_your_own_keras_model.py --quick           # phantoms, seconds
    python examples/explain_your_own_keras_model.py --data chest_xray # train/ of the Kaggle folder

Any Keras 3 model with one sigmoid unit or a softmax works. xaixray reads its input size and
channels from the model, and its pixel scaling from a Rescaling or Normalization layer inside
it; `xaixray inspect` shows what was read and what was guessed. What it cannot read (here the
scaling: this model has no Rescaling layer; class names, threshold) is passed as an option, on
the command line or to Classifier.load.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import keras

import xaixray
from xaixray import Classifier
from xaixray.data import decode_images, load_folder, make_phantoms

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="phantoms and a bundled X-ray")
source.add_argument("--data", type=Path, help="Kaggle-layout folder with train/")
parser.add_argument("--out", type=Path, default=Path("example-out/own-model"))
args = parser.parse_args()

# 1. a plain Keras model and plain Keras training, on images scaled to [0, 1]
model = keras.Sequential([
    keras.Input((96, 96, 1)),
    keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(32, 3, activation="relu", name="last_conv"),
    keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1, activation="sigmoid"),
])
model.compile("adam", "binary_crossentropy")
if args.quick:
    data = make_phantoms(160, 96, seed=0)
    images, labels = data.images, data.labels
else:  # xaixray's decoder, so that training sees the same pixels as explanation will
    folder = load_folder(args.data, split="train")
    images, ok, _ = decode_images(folder.paths, xaixray.Preprocessing((96, 96), 1, "unit"))
    images, labels = images[..., 0], folder.labels[ok]
model.fit(images[..., None] / 255.0, labels, epochs=3, batch_size=32, verbose=2)
args.out.mkdir(parents=True, exist_ok=True)
path = args.out / "my_model.keras"
model.save(path)

# 2. from the shell: first what xaixray reads and guesses, then the model file and images
xray = str([p for p in xaixray.sample_images() if "PNEUMONIA" in p.name][0])
subprocess.run([sys.executable, "-m", "xaixray", "inspect", str(path)], check=True)
subprocess.run([sys.executable, "-m", "xaixray", "explain", str(path), xray, "--scaling", "unit",
                "--methods", "gradcam,lime", "--num-samples", "300",
                "--out", str(args.out / "shell"), "--overwrite"], check=True)

# 3. from Python: the same, with everything in reach
clf = Classifier.load(path, scaling="unit", threshold=0.5)
print(clf)  # input size, channels and output kind were read from the model
[result] = xaixray.explain(clf, xray, methods=["gradcam", "lime"], num_samples=300)
print("Grad-CAM used layer", result.explanations["gradcam"].params["layer"])
print(f"open {xaixray.write_report(result, args.out / 'python', overwrite=True)}")
