"""How many passes do occlusion and RISE need? Maps against a reference with 4x the passes.

Usage::

    python benchmarks/perturbation_counts.py [--model default] [--data DIR] [--n 6]
        [--strides 16,8,4] [--reference-stride 2] [--masks 500,1000,2000]
        [--reference-masks 8000]

The same rule as ``benchmarks/sample_counts.py`` (LIME, SHAP), on ``--n`` calibration images
(half NORMAL, half PNEUMONIA, evenly spaced in name order), each image's predicted class:

- **occlusion** (16-pixel patch, 1/8 of the bundled model's 128-pixel frame): strides of 16, 8
  and 4 pixels against a 2-pixel stride (4x the patches of the finest candidate);
- **RISE** (scoring log-odds, its default; ``--rise-output probability`` for probabilities): 500,
  1000 and 2000 masks with seed 1 against 8000 masks with seed 0 (a different seed, so that
  agreement is not inflated by shared masks).

Each map is compared with its reference by rank correlation (Spearman, over model-frame pixels)
and top-region overlap (Jaccard of the top 10% of pixels). The default is the cheapest setting
with median rank correlation >= 0.9 and median top overlap >= 0.7. Prints a table and writes
``perturbation_counts.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sample_counts import DATA, MIN_OVERLAP, MIN_RHO, jaccard, pick_images, shap_top
from scipy.stats import spearmanr

import xaixray
from xaixray.explainers import RISE, Occlusion, PreparedImage

PATCH = 16


def compare(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    rho = float(spearmanr(a.ravel(), b.ravel()).statistic)
    return rho, jaccard(shap_top(a), shap_top(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--strides", default="16,8,4")
    parser.add_argument("--reference-stride", type=int, default=2)
    parser.add_argument("--masks", default="500,1000,2000")
    parser.add_argument("--reference-masks", type=int, default=8000)
    parser.add_argument("--rise-output", default="logit",
                        help="what RISE scores: probability or logit")
    parser.add_argument("--only", default="occlusion,rise", help="methods to study")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: not found (the calibration images)")

    clf = xaixray.Classifier.load(args.model)
    settings = {
        "occlusion": ([int(s) for s in args.strides.split(",")], args.reference_stride,
                      lambda s, seed: Occlusion(clf, patch=PATCH, stride=s)),
        "rise": ([int(k) for k in args.masks.split(",")], args.reference_masks,
                 lambda k, seed: RISE(clf, masks=k, seed=seed, output=args.rise_output)),
    }
    settings = {m: v for m, v in settings.items() if m in args.only.split(",")}
    rows = {m: {k: {"rho": [], "overlap": [], "seconds": [], "passes": []} for k in ks}
            for m, (ks, _, _) in settings.items()}
    images = pick_images(args.data, args.n)
    for i, path in enumerate(images, 1):
        image = PreparedImage.load(clf, path)
        for method, (ks, ref_k, build) in settings.items():
            ref = build(ref_k, 0).explain_prepared(image).heatmap
            for k in ks:
                explainer = build(k, 1)
                start = time.perf_counter()
                e = explainer.explain_prepared(image)
                seconds = time.perf_counter() - start
                rho, overlap = compare(e.heatmap, ref)
                passes = e.extras.get("patches", explainer.params.get("masks"))
                for key, value in (("rho", rho), ("overlap", overlap), ("seconds", seconds),
                                   ("passes", passes)):
                    rows[method][k][key].append(value)
        print(f"[{i}/{len(images)}] {path.name}", flush=True)

    print(f"\nagreement with the reference (4x the passes), {len(images)} images: "
          "median (10th percentile)")
    print(f"{'method':<10}{'setting':>9}{'passes':>8}{'rank corr.':>18}{'top overlap':>18}"
          f"{'seconds':>9}")
    summary: dict[str, dict] = {}
    for method, by_k in rows.items():
        summary[method] = {}
        for k, r in by_k.items():
            s = {key: {"median": float(np.median(v)), "p10": float(np.percentile(v, 10))}
                 for key, v in r.items()}
            summary[method][k] = s
            print(f"{method:<10}{k:>9}{s['passes']['median']:>8.0f}"
                  f"{s['rho']['median']:>10.3f} ({s['rho']['p10']:.3f})"
                  f"{s['overlap']['median']:>10.3f} ({s['overlap']['p10']:.3f})"
                  f"{s['seconds']['median']:>9.2f}")
        passing = [k for k in by_k if summary[method][k]["rho"]["median"] >= MIN_RHO
                   and summary[method][k]["overlap"]["median"] >= MIN_OVERLAP]
        cheapest = min(passing, key=lambda k: summary[method][k]["passes"]["median"],
                       default=None)
        summary[method]["chosen"] = cheapest
        print(f"{method}: cheapest setting meeting the rule (median rank corr. >= {MIN_RHO}, "
              f"median top overlap >= {MIN_OVERLAP}): {cheapest}")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"model": args.model, "rise_output": args.rise_output,
              "images": [p.name for p in images], "patch": PATCH,
              "reference": {m: ref_k for m, (_, ref_k, _) in settings.items()},
              "summary": summary,
              "rows": {m: {str(k): v for k, v in r.items()} for m, r in rows.items()}}
    name = ("perturbation_counts.json" if len(settings) == 2
            else f"perturbation_counts_{args.only}.json")
    (args.out / name).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
