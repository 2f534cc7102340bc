"""How much does a model's validation performance survive test-like image shifts?

Validation carved out of ``train/`` overstates test performance on the Kermany data: the test
images differ in exposure, contrast, sharpness and framing (see the data README). This script
re-renders the patient-grouped validation images under a fixed set of such shifts, decided before
any model was compared, and reports ROC AUC, sensitivity and specificity at each model's own
threshold under each. It is a stress test, not a substitute for the official test split.

Usage::

    python benchmarks/shift_robustness.py ../shared/data/chest_xray default other.keras

Prints a table and writes ``shift_robustness.json`` into ``--out`` (default
``benchmarks/results``). The 16 official ``val/`` images, when present, are reported beside it,
for information only: far too few to choose by.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from xaixray import Classifier
from xaixray.data import load_folder, split_by_patient
from xaixray.evaluation import compute_metrics
from xaixray.imaging import load_image


def _gamma(g: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda im: (255.0 * (im / 255.0) ** g).astype(np.uint8)


def _contrast(c: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda im: np.clip((im - im.mean()) * c + im.mean(), 0, 255).astype(np.uint8)


def _unsharp(im: np.ndarray) -> np.ndarray:
    return cv2.addWeighted(im, 2.0, cv2.GaussianBlur(im, (0, 0), 2.0), -1.0, 0)


def _crop(im: np.ndarray) -> np.ndarray:
    h, w = im.shape[:2]
    return im[h // 10:h - h // 10, w // 10:w - w // 10]


def _pad(im: np.ndarray) -> np.ndarray:
    h, w = im.shape[:2]
    return cv2.copyMakeBorder(im, h // 10, h // 10, w // 10, w // 10, cv2.BORDER_CONSTANT, value=0)


SHIFTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda im: im,
    "brighter (gamma 0.67)": _gamma(0.67),
    "darker (gamma 1.5)": _gamma(1.5),
    "contrast x1.3": _contrast(1.3),
    "contrast x0.7": _contrast(0.7),
    "sharper (unsharp mask)": _unsharp,
    "zoom in (crop 10%)": _crop,
    "zoom out (pad 10%)": _pad,
}
KEYS = ("roc_auc", "sensitivity", "specificity")


def evaluate_shifts(clf: Classifier, images: list[np.ndarray], labels: np.ndarray) -> dict:
    """Metrics at ``clf.threshold`` for every shift in :data:`SHIFTS`."""
    out = {}
    for name, shift in SHIFTS.items():
        p = clf.predict_proba([shift(im) for im in images])[:, 1]
        m = compute_metrics(labels, p, clf.threshold)
        out[name] = {k: m[k] for k in KEYS}
    shifted = [v for k, v in out.items() if k != "none"]
    out["mean over shifts"] = {k: float(np.mean([s[k] for s in shifted])) for k in KEYS}
    out["worst over shifts"] = {k: float(np.min([s[k] for s in shifted])) for k in KEYS}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="Kaggle-layout folder with train/ (and val/)")
    parser.add_argument("models", nargs="+", help=".keras files, or 'default'")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    _, val = split_by_patient(load_folder(args.data, split="train"), 0.2, seed=0)
    images, labels = [load_image(p) for p in val.paths], np.asarray(val.labels)
    official = None
    if (args.data / "val").is_dir():
        off = load_folder(args.data, split="val")
        official = ([load_image(p) for p in off.paths], np.asarray(off.labels))

    results = {}
    for name in args.models:
        clf = Classifier.load(name)
        r = {"threshold": clf.threshold, "equalize": clf.preprocessing.equalize,
             "validation": evaluate_shifts(clf, images, labels)}
        if official is not None:
            p = clf.predict_proba(official[0])[:, 1]
            m = compute_metrics(official[1], p, clf.threshold)
            r["official_val_16_images"] = {k: m[k] for k in ("accuracy", *KEYS)}
        results[name] = r

    print(f"patient-grouped validation: {len(labels)} images; metrics at each model's threshold")
    print(f"{'shift':<26}" + "".join(f"{Path(n).stem[:22]:>24}" for n in results))
    print(f"{'':<26}" + "".join(f"{'AUC  sens  spec':>24}" for _ in results))
    for shift in [*SHIFTS, "mean over shifts", "worst over shifts"]:
        row = "".join("{:>10.3f}{:>7.3f}{:>7.3f}".format(*(r["validation"][shift][k] for k in KEYS))
                      for r in results.values())
        print(f"{shift:<26}{row}")
    if official is not None:
        row = "".join("{:>10.3f}{:>7.3f}{:>7.3f}".format(
            *(r["official_val_16_images"][k] for k in KEYS)) for r in results.values())
        print(f"{'official val (16, info)':<26}{row}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "shift_robustness.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out / 'shift_robustness.json'}")


if __name__ == "__main__":
    main()
