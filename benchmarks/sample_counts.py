"""How many samples do LIME and SHAP need? Maps at 250-2000 against a 4000-sample reference.

Usage::

    python benchmarks/sample_counts.py [--model default] [--data DIR] [--n 12]
                                       [--counts 250,500,1000,2000] [--reference 4000]

For ``--n`` calibration images (half NORMAL, half PNEUMONIA, evenly spaced in name order), each
image's predicted class is explained by LIME (``num_samples``) and SHAP (``max_evals``) at every
count with seed 1, and once at ``--reference`` with seed 0: a different seed, so agreement is not
inflated by shared random draws. Each map is compared with the reference by

- **rank correlation** (Spearman): LIME over its superpixel weights, SHAP over pixels;
- **top-region overlap** (Jaccard): LIME's 5 superpixels that most support the class, SHAP's top
  10% of pixels.

Rule, fixed before the numbers were seen: the default is the smallest count whose median rank
correlation is at least 0.9 **and** whose median top-region overlap is at least 0.7 (the top
regions a report outlines stay mostly the same). Prints a table (medians, with the 10th
percentile) and writes ``sample_counts.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import xaixray
from xaixray.explainers import LIME, SHAP, PreparedImage
from xaixray.imaging import is_image_file

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chest_xray_calibration"
TOP_SEGMENTS = 5
TOP_SHARE = 0.10
MIN_RHO = 0.9
MIN_OVERLAP = 0.7


def pick_images(folder: Path, n: int) -> list[Path]:
    out: list[Path] = []
    for cls in ("NORMAL", "PNEUMONIA"):
        files = sorted(p for p in (folder / cls).iterdir() if is_image_file(p))
        k = n // 2 if cls == "NORMAL" else n - n // 2
        out += [files[i] for i in np.linspace(0, len(files) - 1, k).astype(int)]
    return out


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def lime_top(weights: dict[int, float]) -> set[int]:
    ranked = sorted(weights.items(), key=lambda kv: -kv[1])
    return {s for s, w in ranked[:TOP_SEGMENTS] if w > 0}


def shap_top(heat: np.ndarray) -> set[int]:
    flat = heat.ravel()
    k = max(1, int(TOP_SHARE * flat.size))
    return set(np.argsort(-flat, kind="stable")[:k].tolist())


def compare(method: str, e, ref) -> tuple[float, float]:
    if method == "lime":
        keys = sorted(ref.extras["weights"])
        a = [e.extras["weights"].get(k, 0.0) for k in keys]
        b = [ref.extras["weights"][k] for k in keys]
        return float(spearmanr(a, b).statistic), jaccard(lime_top(e.extras["weights"]),
                                                         lime_top(ref.extras["weights"]))
    rho = float(spearmanr(e.extras["values"].ravel(), ref.extras["values"].ravel()).statistic)
    return rho, jaccard(shap_top(e.extras["values"].sum(-1)),
                        shap_top(ref.extras["values"].sum(-1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--counts", default="250,500,1000,2000")
    parser.add_argument("--reference", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: not found (the calibration images)")

    clf = xaixray.Classifier.load(args.model)
    counts = [int(c) for c in args.counts.split(",")]
    make = {"lime": lambda k, seed: LIME(clf, num_samples=k, seed=seed),
            "shap": lambda k, seed: SHAP(clf, max_evals=k, seed=seed)}
    rows: dict[str, dict[int, dict[str, list[float]]]] = {
        m: {k: {"rho": [], "overlap": [], "seconds": []} for k in counts} for m in make}
    images = pick_images(args.data, args.n)
    for i, path in enumerate(images, 1):
        image = PreparedImage.load(clf, path)
        for method, build in make.items():
            ref = build(args.reference, 0).explain_prepared(image)
            for k in counts:
                start = time.perf_counter()
                e = build(k, 1).explain_prepared(image)
                seconds = time.perf_counter() - start
                rho, overlap = compare(method, e, ref)
                for key, value in (("rho", rho), ("overlap", overlap), ("seconds", seconds)):
                    rows[method][k][key].append(value)
        print(f"[{i}/{len(images)}] {path.name}", flush=True)

    print(f"\nagreement with {args.reference} samples (other seed), {len(images)} images: "
          "median (10th percentile)")
    print(f"{'method':<6}{'count':>7}{'rank corr.':>18}{'top overlap':>18}{'seconds':>9}")
    summary: dict[str, dict] = {}
    for method, by_count in rows.items():
        summary[method] = {}
        for k, r in by_count.items():
            s = {key: {"median": float(np.median(v)), "p10": float(np.percentile(v, 10))}
                 for key, v in r.items()}
            summary[method][k] = s
            print(f"{method:<6}{k:>7}{s['rho']['median']:>10.3f} ({s['rho']['p10']:.3f})"
                  f"{s['overlap']['median']:>10.3f} ({s['overlap']['p10']:.3f})"
                  f"{s['seconds']['median']:>9.2f}")
        passing = [k for k in counts if summary[method][k]["rho"]["median"] >= MIN_RHO
                   and summary[method][k]["overlap"]["median"] >= MIN_OVERLAP]
        summary[method]["chosen"] = min(passing) if passing else None
        print(f"{method}: smallest count meeting the rule (median rank corr. >= {MIN_RHO}, "
              f"median top overlap >= {MIN_OVERLAP}): {summary[method]['chosen']}")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"model": args.model, "images": [p.name for p in images],
              "reference": args.reference, "summary": summary,
              "rows": {m: {str(k): v for k, v in r.items()} for m, r in rows.items()}}
    (args.out / "sample_counts.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'sample_counts.json'}")


if __name__ == "__main__":
    main()
