"""One training epoch per zoo architecture on a data folder, through the CLI, then evaluate and
predict the saved file — the issue's end-to-end check, timed.

Usage::

    python benchmarks/train_epoch.py ../shared/data/chest_xray [--arch NAME ...] [--out DIR]

Prints a table (wall seconds of ``xaixray train --epochs 1``, training images/s as Keras counted
them, validation accuracy/AUC, whether evaluate and predict on the saved file worked) and writes
``train_epoch.json`` into ``--out`` (default ``benchmarks/results``). Transfer models use
``--weights none`` so this runs offline.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

DEFAULT_ARCHS = ["gray_cnn_lstm", "simple_cnn", "cnn_lstm", "mobilenet", "resnet50", "row_lstm"]


def xaixray(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xaixray", *args], capture_output=True,
                          text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--arch", nargs="+", default=DEFAULT_ARCHS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    val_dir = args.data / "val"
    sample = next((val_dir / "PNEUMONIA").iterdir())
    rows = []
    for arch in args.arch:
        model = args.out / f"{arch}.keras"
        for stale in (model, model.with_suffix(".history.json"), model.with_suffix(".curves.png")):
            stale.unlink(missing_ok=True)
        start = time.perf_counter()
        r = xaixray("train", "--arch", arch, "--data", str(args.data), "--out", str(model),
                    "--epochs", "1", "--weights", "none")
        wall = time.perf_counter() - start
        row = {"arch": arch, "train_ok": r.returncode == 0, "train_wall_s": round(wall, 1)}
        if r.returncode == 0:
            with zipfile.ZipFile(model) as zf:
                info = json.loads(zf.read("xaixray.json"))["info"]
            row.update(images_per_s=info["training"]["images_per_second"],
                       fit_s=info["training"]["seconds"],
                       val_accuracy=round(info["validation"]["accuracy"], 4),
                       val_auc=round(info["validation"]["roc_auc"], 4))
            row["evaluate_ok"] = xaixray("evaluate", str(model), str(val_dir)).returncode == 0
            row["predict_ok"] = xaixray("predict", str(model), str(sample)).returncode == 0
        else:
            row["error"] = (r.stderr.strip().splitlines() or ["?"])[-1]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'arch':<14}{'wall s':>8}{'fit s':>8}{'img/s':>8}{'val acc':>9}{'val AUC':>9}"
          f"{'eval':>6}{'pred':>6}")
    for r in rows:
        print(f"{r['arch']:<14}{r['train_wall_s']:>8}{r.get('fit_s', '-'):>8}"
              f"{r.get('images_per_s', '-'):>8}{r.get('val_accuracy', '-'):>9}"
              f"{r.get('val_auc', '-'):>9}{str(r.get('evaluate_ok', '-')):>6}"
              f"{str(r.get('predict_ok', '-')):>6}")
    (args.out / "train_epoch.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
