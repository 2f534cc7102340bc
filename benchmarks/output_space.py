"""Should LIME and SHAP explain probabilities or log-odds? Deletion and insertion decide.

Usage::

    python benchmarks/output_space.py [--model default] [--data DIR] [--n 24]
                                      [--num-samples 1000] [--max-evals 1000] [--seed 0]

Takes ``--n`` images of a labelled folder (half NORMAL, half PNEUMONIA, evenly spaced in name
order, so the same images every run), explains each image's predicted class with LIME and SHAP
in both output spaces (``output="probability"`` and ``output="logit"``, same seed) and Grad-CAM
for reference, and scores every map with deletion and insertion curves against random rankings
(``xaixray.metrics.perturbation_curves``: 25 steps, blur removal, 3 random rankings), the curves
scored both in probability and in log-odds. Prints a table and writes ``output_space.json``
(per-image rows included) into ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

import xaixray
from xaixray.explainers import PreparedImage, explain_image, make_explainers
from xaixray.imaging import is_image_file
from xaixray.metrics import perturbation_curves

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chest_xray_calibration"
CONFIGS = {
    "gradcam": ("gradcam", {}),
    "lime/probability": ("lime", {"output": "probability"}),
    "lime/logit": ("lime", {"output": "logit"}),
    "shap/probability": ("shap", {"output": "probability"}),
    "shap/logit": ("shap", {"output": "logit"}),
}
SCORES = ("probability", "logit")


def pick(folder: Path, n: int) -> list[tuple[Path, str]]:
    """``n`` images, half per class, evenly spaced in name order."""
    out = []
    for cls, k in (("NORMAL", n // 2), ("PNEUMONIA", n - n // 2)):
        files = sorted(p for p in (folder / cls).iterdir() if is_image_file(p))
        idx = np.linspace(0, len(files) - 1, k).round().astype(int)
        out += [(files[i], cls) for i in idx]
    return out


def summarise(rows: list[dict], configs: list[str]) -> dict:
    table = {}
    for score in SCORES:
        for c in configs:
            d = [r["curves"][score][c] for r in rows]
            table[f"{c}|{score}"] = {
                "n": len(d),
                "deletion_auc": float(np.mean([x["deletion_auc"] for x in d])),
                "deletion_auc_random": float(np.mean([x["deletion_auc_random"] for x in d])),
                "deletion_better": float(np.mean([x["deletion_auc"] < x["deletion_auc_random"]
                                                  for x in d])),
                "insertion_auc": float(np.mean([x["insertion_auc"] for x in d])),
                "insertion_auc_random": float(np.mean([x["insertion_auc_random"] for x in d])),
                "insertion_better": float(np.mean([x["insertion_auc"] > x["insertion_auc_random"]
                                                   for x in d])),
            }
    return table


def paired(rows: list[dict]) -> dict:
    """Share of images on which the logit map beats the probability map, per method and score."""
    out = {}
    for method in ("lime", "shap"):
        for score in SCORES:
            lo = [r["curves"][score][f"{method}/logit"] for r in rows]
            pr = [r["curves"][score][f"{method}/probability"] for r in rows]
            dele = [a["deletion_auc"] < b["deletion_auc"] for a, b in zip(lo, pr)]
            ins = [a["insertion_auc"] > b["insertion_auc"] for a, b in zip(lo, pr)]
            ties = [a["deletion_auc"] == b["deletion_auc"] for a, b in zip(lo, pr)]
            out[f"{method}|{score}"] = {"deletion_logit_wins": float(np.mean(dele)),
                                        "insertion_logit_wins": float(np.mean(ins)),
                                        "deletion_ties": float(np.mean(ties))}
    return out


def print_table(title: str, table: dict) -> None:
    print(f"\n{title}")
    print(f"{'method/output':<18}{'curve score':<13}{'del AUC':>9}{'random':>8}{'better':>8}"
          f"{'ins AUC':>9}{'random':>8}{'better':>8}")
    for key, r in table.items():
        c, score = key.split("|")
        print(f"{c:<18}{score:<13}{r['deletion_auc']:>9.3f}{r['deletion_auc_random']:>8.3f}"
              f"{r['deletion_better']:>8.0%}{r['insertion_auc']:>9.3f}"
              f"{r['insertion_auc_random']:>8.3f}{r['insertion_better']:>8.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help=".keras file or 'default'")
    parser.add_argument("--data", type=Path, default=DATA, help="folder with NORMAL/, PNEUMONIA/")
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--num-samples", type=int, default=1000, help="LIME")
    parser.add_argument("--max-evals", type=int, default=1000, help="SHAP")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    clf = xaixray.Classifier.load(args.model)
    explainers = {}
    for name, (method, params) in CONFIGS.items():
        made, errors = make_explainers(clf, [method], args.seed, {method: params},
                                       num_samples=args.num_samples, max_evals=args.max_evals)
        if errors:
            raise SystemExit(f"{name}: {errors}")
        explainers[name] = made[method]
    seconds = {name: 0.0 for name in CONFIGS}
    rows = []
    start = time.perf_counter()
    for i, (path, label) in enumerate(pick(args.data, args.n)):
        image = PreparedImage.load(clf, path)
        result = explain_image(clf, image, explainers)
        maps = {}
        for name, e in result.explanations.items():
            maps[name] = e.heatmap
            seconds[name] += e.seconds
        curves = {}
        for score in SCORES:
            found = perturbation_curves(clf, image, maps, image.predicted, score=score,
                                        seed=args.seed)
            curves[score] = {name: {"deletion_auc": c["deletion"].auc,
                                    "deletion_auc_random": c["deletion"].auc_random,
                                    "insertion_auc": c["insertion"].auc,
                                    "insertion_auc_random": c["insertion"].auc_random}
                             for name, c in found.items()}
        rows.append({"image": str(path), "label": label,
                     "predicted": clf.class_names[image.predicted],
                     "probability": float(image.probabilities[image.predicted]),
                     "curves": curves})
        print(f"[{i + 1}/{args.n}] {path.name} {label} -> {rows[-1]['predicted']} "
              f"({rows[-1]['probability']:.4f}), {time.perf_counter() - start:.0f} s", flush=True)

    configs = list(CONFIGS)
    table = summarise(rows, configs)
    by_class = {cls: summarise([r for r in rows if r["predicted"] == cls], configs)
                for cls in clf.class_names if any(r["predicted"] == cls for r in rows)}
    pairs = paired(rows)
    print(f"\nmodel {clf.name}, {len(rows)} images of {args.data}, LIME {args.num_samples} "
          f"samples, SHAP {args.max_evals} evaluations, seed {args.seed}; curves: 25 steps, "
          "blur removal, mean of 3 random rankings; 'better' = share of images better than "
          "random")
    print_table("all images", table)
    for cls, t in by_class.items():
        print_table(f"predicted {cls} ({t[next(iter(t))]['n']} images)", t)
    print("\nshare of images on which the logit map beats the probability map")
    for key, r in pairs.items():
        print(f"  {key:<18} deletion {r['deletion_logit_wins']:.0%} (ties "
              f"{r['deletion_ties']:.0%}), insertion {r['insertion_logit_wins']:.0%}")
    print("\nmean seconds per image: " + ", ".join(f"{k} {v / len(rows):.2f}"
                                                   for k, v in seconds.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"model": str(args.model), "data": str(args.data), "n": len(rows),
              "num_samples": args.num_samples, "max_evals": args.max_evals, "seed": args.seed,
              "machine": platform.processor() or platform.machine(),
              "seconds_per_image": {k: v / len(rows) for k, v in seconds.items()},
              "table": table, "by_predicted_class": by_class, "paired": pairs, "images": rows}
    path = args.out / "output_space.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
