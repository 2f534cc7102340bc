"""Reproduce xaixray's bundled default model from the Kermany et al. data folder.

Usage::

    python examples/train_default_model.py ../shared/data/chest_xray default.keras

This is the library form of the command recorded in the model card::

    xaixray train --arch compact_cnn --data DATA --out OUT --epochs 30 --patience 6 \
        --robust-augment --sensitivity 0.98 --seed 0 --crop lungs

followed by re-saving without optimizer state (what ships is weights + metadata only). Expect
about 25 minutes on a 2-core CPU (early stopping ends it after about 20 epochs); compare the
result with ``python benchmarks/shift_robustness.py DATA default OUT``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import xaixray
from xaixray import Classifier
from xaixray.data import load_folder, split_by_patient
from xaixray.evaluation import format_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="folder holding train/{NORMAL,PNEUMONIA}")
    parser.add_argument("out", type=Path, help="where to write the .keras model")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train, val = split_by_patient(load_folder(args.data, split="train"), 0.2, seed=args.seed)
    clf = xaixray.build("compact_cnn", seed=args.seed, crop="lungs")
    xaixray.train(clf, train, val, epochs=args.epochs, patience=6, robust_augment=True,
                  seed=args.seed, sensitivity=0.98)  # threshold: validation sensitivity >= 0.98
    print(format_metrics({**clf.info["validation_at_threshold"],
                          "class_names": list(clf.class_names)}))

    tmp = args.out.with_suffix(".with-optimizer.keras")
    clf.save(tmp)
    Classifier.load(tmp).save(args.out)  # loading without compiling drops the optimizer state
    tmp.unlink()
    # the shipped model was then calibrated on test-like images (see its model card):
    #   xaixray calibrate OUT chest_xray_calibration --out default.keras --sensitivity 0.95 \
    #       --temperature
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
