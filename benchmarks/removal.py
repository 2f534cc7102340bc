"""Blur or ROAD removal for deletion and insertion: which one does the model read as "nothing"?

Usage::

    python benchmarks/removal.py [--model default] [--data DIR] [--n 20] [--methods gradcam]
                                 [--seed 0] [--out benchmarks/results]

Takes ``--n`` images of a labelled folder (half NORMAL, half PNEUMONIA, evenly spaced in name
order), explains each image's predicted class, and scores the maps with deletion and insertion
curves (log-odds, 25 steps, 16 x 16 cells, 3 random orders) twice: removing by blur and by
ROAD's noisy linear imputation. A removal that reads as "no evidence" makes the deletion curve of
every prediction end *below* where it started; blur, which the bundled model reads as evidence for
PNEUMONIA, makes PNEUMONIA curves end higher. Prints per predicted class and removal the share
of curves ending at or above their start, the shares of maps better than random, and the
seconds per image; writes ``removal.json`` (per-image rows included).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from output_space import DATA, pick  # a sibling script in benchmarks/

import xaixray
from xaixray.explainers import PreparedImage, explain_image, make_explainers
from xaixray.metrics import perturbation_curves

REMOVALS = ("blur", "road")


def measure(clf: xaixray.Classifier, images: list[tuple[Path, str]], methods: list[str],
            seed: int) -> list[dict]:
    explainers, _ = make_explainers(clf, methods, seed=seed)
    rows = []
    for path, label in images:
        prepared = PreparedImage.load(clf, path)
        result = explain_image(clf, prepared, explainers)
        maps = {m: e.heatmap for m, e in result.explanations.items()}
        for removal in REMOVALS:
            start = time.perf_counter()
            curves = perturbation_curves(clf, prepared, maps, result.prediction,
                                         removal=removal, score="logit", seed=seed)
            seconds = time.perf_counter() - start
            for m, c in curves.items():
                d, ins = c["deletion"], c["insertion"]
                rows.append({"image": path.name, "label": label,
                             "prediction": result.prediction_name, "removal": removal,
                             "method": m, "seconds": seconds, "start": float(d.scores[0]),
                             "end": float(d.scores[-1]),
                             "deletion_better": d.better_than_random,
                             "insertion_better": ins.better_than_random})
        print(f"  {path.name}: {result.prediction_name}", flush=True)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    table = []
    for removal in REMOVALS:
        for pred in sorted({r["prediction"] for r in rows}):
            sel = [r for r in rows if r["removal"] == removal and r["prediction"] == pred]
            if sel:
                table.append({
                    "removal": removal, "prediction": pred, "n": len(sel),
                    "ends_at_or_above_start": float(np.mean([r["end"] >= r["start"]
                                                             for r in sel])),
                    "mean_start": float(np.mean([r["start"] for r in sel])),
                    "mean_end": float(np.mean([r["end"] for r in sel])),
                    "deletion_better": float(np.mean([r["deletion_better"] for r in sel])),
                    "insertion_better": float(np.mean([r["insertion_better"] for r in sel])),
                    "seconds_per_image": float(np.mean([r["seconds"] for r in sel]))})
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--methods", default="gradcam")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    clf = xaixray.Classifier.load(args.model)
    images = pick(args.data, args.n)
    print(f"{clf.name}: {len(images)} images of {args.data}")
    rows = measure(clf, images, args.methods.split(","), args.seed)
    table = summarise(rows)
    print(f"\n{'removal':<8}{'predicted':<11}{'n':>4}{'ends >= start':>15}{'start':>8}"
          f"{'end':>8}{'del>rand':>10}{'ins>rand':>10}{'s/image':>9}")
    for t in table:
        print(f"{t['removal']:<8}{t['prediction']:<11}{t['n']:>4}"
              f"{t['ends_at_or_above_start']:>15.2f}{t['mean_start']:>8.2f}{t['mean_end']:>8.2f}"
              f"{t['deletion_better']:>10.2f}{t['insertion_better']:>10.2f}"
              f"{t['seconds_per_image']:>9.1f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "removal.json"
    path.write_text(json.dumps({"model": clf.name, "data": str(args.data), "n": len(images),
                                "machine": platform.platform(), "table": table, "rows": rows},
                               indent=1))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
