"""Candidate models ranked on a labelled site set: the numbers behind docs/model-selection.md.

Each candidate is scored by ROC AUC on the set (threshold-free, so a threshold set on the same
images cannot flatter it) and compared with the first one, the baseline, by a paired bootstrap
of the images (SciPy's ``stats.bootstrap``, 2,000 resamples, 95% percentile interval).

A candidate is a model file, ``default``, or an ensemble ``a.keras+b.keras``: the mean of its
members' log-odds, each member with its own preprocessing (crop, size).
``--adapt-batchnorm`` adds, for every single model, the same weights with their BatchNorm
statistics re-estimated on the set's images (labels unused; AdaBN, Li et al. 2016), scored
**out of fold**: statistics from one half of the patients, scores on the other, and back.

Usage::

    python benchmarks/model_selection.py ../shared/data/chest_xray_calibration \\
        default other.keras "default+other.keras" --adapt-batchnorm

Prints a table and writes ``model_selection.json`` into ``--out`` (default
``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import roc_auc_score

from xaixray import Classifier
from xaixray.data import load_folder
from xaixray.data.folders import patient_id
from xaixray.errors import XaixrayError
from xaixray.evaluation.calibration import check_calibration_set


def log_odds(clf: Classifier, batch: np.ndarray) -> np.ndarray:
    """The positive class's log-odds for a prepared batch."""
    return clf.predict_log_odds_prepared(batch)[:, clf.positive_index]


def patient_halves(paths: list) -> np.ndarray:
    """0 or 1 per image, by a fixed hash of its patient id (no patient in both halves)."""
    return np.array([int(hashlib.sha256(patient_id(p).encode()).hexdigest(), 16) % 2
                     for p in paths])


def batchnorm_layers(model: Any) -> list:
    """Every ``BatchNormalization`` layer of a Keras model, nested models included."""
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif hasattr(layer, "layers"):
            found += batchnorm_layers(layer)
    return found


def adapt_batchnorm(clf: Classifier, batch: np.ndarray) -> None:
    """Replace every BatchNorm layer's moving statistics by those of its inputs over ``batch``.

    One forward pass in training mode with momentum 0: each layer normalises with, and stores,
    the statistics of its own inputs, which already come from the re-normalised layers before it.
    """
    layers = batchnorm_layers(clf.model)
    if not layers or not all(layer.trainable for layer in layers):
        raise SystemExit(f"{clf.name}: --adapt-batchnorm needs BatchNormalization layers that "
                         "are all trainable (frozen ones keep their statistics)")
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    try:
        clf.model(clf.preprocessing.to_model_input(batch), training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    clf.reset_forward()


def out_of_fold_adapted(clf: Classifier, batch: np.ndarray, halves: np.ndarray) -> np.ndarray:
    """Log-odds of each half after adapting the BatchNorm statistics on the other half."""
    weights = clf.model.get_weights()
    scores = np.zeros(len(batch))
    for half in (0, 1):
        clf.model.set_weights(weights)
        adapt_batchnorm(clf, batch[halves != half])
        scores[halves == half] = log_odds(clf, batch[halves == half])
    clf.model.set_weights(weights)
    clf.reset_forward()
    return scores


def auc_difference(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """95% paired bootstrap interval of AUC(a) - AUC(b); resamples of one class are skipped."""
    def statistic(yy: np.ndarray, aa: np.ndarray, bb: np.ndarray) -> float:
        if yy.min() == yy.max():
            return np.nan
        return roc_auc_score(yy, aa) - roc_auc_score(yy, bb)

    res = bootstrap((y, a, b), statistic, paired=True, vectorized=False, n_resamples=2000,
                    method="percentile", random_state=np.random.default_rng(0))
    low, high = np.nanpercentile(res.bootstrap_distribution, [2.5, 97.5])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="a folder with NORMAL/ and PNEUMONIA/")
    parser.add_argument("candidates", nargs="+",
                        help="model files, 'default', or ensembles 'a.keras+b.keras'; "
                             "the first is the baseline")
    parser.add_argument("--adapt-batchnorm", action="store_true",
                        help="also score each single model with BatchNorm statistics "
                             "re-estimated on the set, out of fold")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    images = load_folder(args.data, split=None)  # never a dataset root's held-out test/
    y = np.asarray(images.labels)
    check_calibration_set(y)  # both classes, at least 10 images each, or one line and exit
    halves = patient_halves(images.paths)

    members = {name for c in args.candidates for name in c.split("+")}
    scores: dict[str, np.ndarray] = {}
    adapted: dict[str, np.ndarray] = {}
    for name in sorted(members):
        clf = Classifier.load(name)
        clf.temperature = 1.0  # rank and average the models' own log-odds, unscaled
        batch = clf.preprocessing.prepare(images.paths)
        scores[name] = log_odds(clf, batch)
        if args.adapt_batchnorm and name in args.candidates:
            adapted[name] = out_of_fold_adapted(clf, batch, halves)

    rows = []
    for c in args.candidates:
        rows.append((c, np.mean([scores[m] for m in c.split("+")], axis=0)))
        if c in adapted:
            rows.append((f"{c} (AdaBN, out of fold)", adapted[c]))
    baseline = rows[0][1]
    baseline_auc = float(roc_auc_score(y, baseline))
    results = {}
    print(f"{args.data}: {len(y)} images ({int(y.sum())} positive); AUC and the paired bootstrap "
          f"difference from {args.candidates[0]}")
    print(f"{'candidate':<60}{'AUC':>7}  {'vs baseline (95%)':>26}")
    for i, (name, s) in enumerate(rows):
        auc = float(roc_auc_score(y, s))
        results[name] = {"roc_auc": auc}
        diff = ""
        if i > 0:
            low, high = auc_difference(y, s, baseline)
            d = auc - baseline_auc
            results[name]["difference"] = {"value": d, "low": low, "high": high}
            diff = f"{d:+.3f} ({low:+.3f} to {high:+.3f})"
        print(f"{name[-60:]:<60}{auc:>7.3f}  {diff:>26}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "model_selection.json"
    path.write_text(json.dumps({"data": str(args.data), "n": len(y),
                                "baseline": args.candidates[0], "results": results}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    try:
        main()
    except XaixrayError as exc:
        raise SystemExit(f"error: {exc}") from None
