# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # xaixray in a notebook
#
# This tutorial is `examples/tutorial.py`, a [jupytext](https://jupytext.readthedocs.io) script
# in percent format. Open it in Jupyter as a notebook, run it as a script
# (`python examples/tutorial.py --quick`), or execute it from a clean kernel as CI does
# (`python scripts/render_tutorial.py --quick`). The page in the docs is that executed notebook.
#
# Every result of xaixray displays itself in a notebook cell: figures inline, the numbers
# beside them, no files written. It goes through:
#
# 1. loading the bundled model;
# 2. explaining the bundled X-rays;
# 3. comparing the methods;
# 4. auditing the maps on phantoms;
# 5. calibrating on a small labelled folder;
# 6. explaining your own Keras model, and watching its maps while it trains.
#
# The maps are post-hoc estimates of what *this model* used; none of this is for clinical use.

# %% tags=["parameters"]
import os
import reprlib
import sys
from pathlib import Path

import cv2
import keras

import xaixray
from xaixray.data import make_phantoms

# --quick (or XAIXRAY_QUICK=1): fewer samples and images, about a minute on two CPU cores
QUICK = "--quick" in sys.argv or os.environ.get("XAIXRAY_QUICK") == "1"
LIME_SAMPLES, SHAP_EVALS = (100, 100) if QUICK else (1000, 500)
AUDIT_PHANTOMS = 4 if QUICK else 24

try:  # in a notebook, results display as HTML; run as a script, they print in one line
    from IPython import get_ipython
    from IPython.display import display
    assert get_ipython() is not None
except (ImportError, AssertionError):
    def display(obj):
        print(reprlib.repr(obj))

work = Path("xaixray-tutorial")  # what the tutorial writes: a small folder of images, maps
work.mkdir(exist_ok=True)

# %% [markdown]
# ## 1. The bundled model
#
# `Classifier.load("default")` loads the model that ships with xaixray: its Keras network, its
# preprocessing (here a crop to the lungs and a resize to 128×128), its class names and its
# decision threshold.

# %%
clf = xaixray.Classifier.load("default")
display(clf)

# %% [markdown]
# ## 2. Explain the bundled X-rays
#
# `xaixray.explain` returns one `ExplanationSet` per image: the prediction and a map per
# method. In a notebook it shows the side-by-side figure, the prediction and the threshold,
# the agreement between the methods and how faithful each map is (deletion and insertion
# against random orders, and how much of each map lies in the border or outside the body).

# %%
xrays = xaixray.sample_images()
pneumonia = next(p for p in xrays if "PNEUMONIA" in p.name)
[result] = xaixray.explain(clf, pneumonia, methods=("gradcam", "lime", "shap"),
                           num_samples=LIME_SAMPLES, max_evals=SHAP_EVALS)
display(result)

# %% [markdown]
# ## 3. Compare the methods
#
# The numbers behind the table are plain data: `result.agreement()` gives the Spearman rank
# correlation and the overlap of the top 20% of each pair of maps, and each `Explanation`
# displays alone.

# %%
for pair in result.agreement():
    print(" vs ".join(pair["methods"]), f"Spearman {pair['spearman']:.2f}",
          f"top-20% overlap {pair['top_overlap']:.2f}", sep="  ")
display(result.explanations["gradcam"])

# %% [markdown]
# ## 4. Audit the maps on phantoms
#
# `xaixray.audit` measures the maps over many images. Phantoms are generated images with known
# opacities (their masks give the pointing game); they are not X-rays, so the bundled model's
# predictions on them mean little, but the audit's machinery is the same as on a real folder.

# %%
audit = xaixray.audit(clf, phantoms=AUDIT_PHANTOMS, methods=["gradcam"], n=AUDIT_PHANTOMS,
                      randomization_n=0)
display(audit)

# %% [markdown]
# ## 5. Calibrate on a small labelled folder
#
# A site calibrates the threshold on a small labelled set of its own images
# (`DIR/NORMAL/`, `DIR/PNEUMONIA/`). The default rule promises the sensitivity for new images
# like these with 95% confidence (Clopper-Pearson), which needs enough positives: 29 for a
# sensitivity of 0.9, 59 for 0.95; `conformal=0.05` adds prediction sets. Here the folder holds
# phantoms, so the numbers only show the mechanics; `xaixray.evaluate` and `xaixray.calibrate`
# display their metrics and figures inline.

# %%
phantoms = make_phantoms(72, 256, seed=3)
folder = work / "site"
for i, (image, label) in enumerate(zip(phantoms.images, phantoms.labels)):
    (folder / xaixray.CLASS_NAMES[label]).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / xaixray.CLASS_NAMES[label] / f"phantom{i}.png"), image)

display(xaixray.evaluate(clf, folder))
calibrated = xaixray.calibrate(clf, folder, rule="sensitivity", target=0.9, conformal=0.05)
display(calibrated)

# %% [markdown]
# ## 6. Your own Keras model, explained while it trains
#
# Any Keras model with one sigmoid unit or a softmax works. `ExplanationCallback` explains a few
# fixed images every few epochs on the live weights, without changing training, and writes the
# maps to a TensorBoard log folder (`log_dir=`, the Images tab) or as PNGs (`out_dir=`); with
# `faithfulness=True` it also records, per epoch, whether each map beats random and how much of
# it lies in the border or outside the body (`callback.rows`, `faithfulness.csv`).

# %%
train = make_phantoms(160 if QUICK else 320, 64, seed=1)
model = keras.Sequential([
    keras.Input((64, 64, 1)),
    keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(16, 3, activation="relu", name="last_conv"),
    keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy", metrics=["accuracy"])
fixed = [train.images[i] for i in range(len(train.labels)) if train.labels[i] == 1][:2]
callback = xaixray.ExplanationCallback(fixed, every=2, out_dir=work / "maps",
                                       faithfulness=True)
model.fit(train.images[..., None] / 255.0, train.labels, epochs=8 if QUICK else 12,
          batch_size=32, verbose=0, callbacks=[callback])
for row in callback.rows:
    print(f"epoch {row['epoch']} {row['image']}: border share {row['border_share']:.2f}, "
          f"outside-body share {row['outside_body_share']:.2f}, {row['verdict']}")

# %% [markdown]
# `Classifier.from_keras` wraps the trained model (input size and channels are read from it;
# its pixels are scaled to [0, 1]), and everything above works on it. (With `--quick` the model
# trains for seconds and stays close to chance: read the maps as the mechanics, not a result.)

# %%
mine = xaixray.Classifier.from_keras(model, name="my_phantom_cnn")
[own] = xaixray.explain(mine, make_phantoms(2, 64, seed=9).images[0],
                        methods=("gradcam", "lime"), num_samples=LIME_SAMPLES)
display(own)
