"""How many path steps does Integrated Gradients need, and how many noisy copies SmoothGrad?
And how close is each gradient method to its lower bound?

Usage::

    python benchmarks/gradient_counts.py [--model default] [--data DIR] [--n 6]
                                         [--steps 16,32,64,128] [--samples 8,16,32,64]

The rule of ``benchmarks/sample_counts.py`` (LIME, SHAP), fixed before the numbers were seen:
for ``--n`` calibration images (half NORMAL, half PNEUMONIA), each image's predicted class is
explained at every count and compared, in the model frame, with a reference 4x the largest
count (SmoothGrad's with another seed) by rank correlation (Spearman, over pixels) and top-region
overlap (Jaccard of the top 10% of pixels). The default is the smallest count whose median rank
correlation is at least 0.9 and whose median overlap is at least 0.7; for Integrated Gradients
also every image's ``completeness_gap`` must be at most 1%.

Then the speed: each method's seconds per image (saliency and input x gradient on a batch of
16, the others image by image) against its lower bound, the gradients it needs times the time
of one gradient at the best batch size. Prints tables and writes ``gradient_counts.json`` into
``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sample_counts import DATA, MIN_OVERLAP, MIN_RHO, TOP_SHARE, jaccard, pick_images
from scipy.stats import spearmanr

import xaixray
from xaixray.explainers import (
    InputXGradient,
    IntegratedGradients,
    PreparedImage,
    Saliency,
    SmoothGrad,
)
from xaixray.explainers.gradients import DEFAULT_SAMPLES, DEFAULT_STEPS

MAX_GAP = 0.01


def top(heat: np.ndarray) -> set[int]:
    k = max(1, int(TOP_SHARE * heat.size))
    return set(np.argsort(-heat.ravel(), kind="stable")[:k].tolist())


def model_frame_map(explainer, image: PreparedImage) -> tuple[np.ndarray, dict]:
    return explainer._attribute_many(image.prepared[None], [image.predicted])[0]


def study(clf, images, method: str, counts: list[int]) -> dict:
    build = {"integrated_gradients": lambda k, seed: IntegratedGradients(clf, steps=k),
             "smoothgrad": lambda k, seed: SmoothGrad(clf, samples=k, seed=seed)}[method]
    rows = {k: {"rho": [], "overlap": [], "seconds": [], "gap": []} for k in counts}
    for image in images:
        ref, _ = model_frame_map(build(4 * max(counts), 0), image)
        for k in counts:
            start = time.perf_counter()
            heat, extras = model_frame_map(build(k, 1), image)
            rows[k]["seconds"].append(time.perf_counter() - start)
            rows[k]["rho"].append(float(spearmanr(heat.ravel(), ref.ravel()).statistic))
            rows[k]["overlap"].append(jaccard(top(heat), top(ref)))
            rows[k]["gap"].append(float(extras.get("completeness_gap", 0.0)))
    summary: dict = {}
    for k, r in rows.items():
        s = {key: {"median": float(np.median(v)), "p10": float(np.percentile(v, 10)),
                   "max": float(np.max(v))} for key, v in r.items()}
        s["passes"] = bool(s["rho"]["median"] >= MIN_RHO and s["overlap"]["median"] >= MIN_OVERLAP
                           and s["gap"]["max"] <= MAX_GAP)
        summary[k] = s
    passing = [k for k in counts if summary[k]["passes"]]
    return {"reference": 4 * max(counts), "by_count": summary, "rows": rows,
            "chosen": min(passing) if passing else None}


def seconds_per_gradient(explainer, image: PreparedImage, batch: int, repeat: int = 5) -> float:
    points = np.repeat(image.prepared[None], batch, axis=0)
    targets = np.full(batch, image.predicted, np.int32)
    explainer._gradients(points, targets)  # warm-up (tracing)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        explainer._gradients(points, targets)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / batch


def speed(clf, images: list[PreparedImage]) -> dict:
    probe = Saliency(clf, batch_size=256)
    per_batch = {b: seconds_per_gradient(probe, images[0], b) for b in (1, 8, 16, 32, 64, 128)}
    best_batch = min(per_batch, key=per_batch.get)
    best = per_batch[best_batch]
    cases = [("saliency", Saliency, {}, 1, 16), ("input_x_gradient", InputXGradient, {}, 1, 16),
             ("integrated_gradients", IntegratedGradients, {}, DEFAULT_STEPS + 1, 2),
             ("smoothgrad", SmoothGrad, {}, DEFAULT_SAMPLES, 2)]
    out: dict = {"seconds_per_gradient": per_batch, "best_batch": best_batch, "methods": {}}
    batch = (images * 16)[:16]
    for name, cls, kwargs, gradients, n in cases:
        for batch_size in sorted({16, best_batch}):
            explainer = cls(clf, batch_size=batch_size, **kwargs)
            explainer.explain_prepared_many(batch[:1], [None])  # warm-up (tracing)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                explainer.explain_prepared_many(batch[:n], [None] * n)
                times.append((time.perf_counter() - start) / n)
            seconds = float(np.median(times))
            out["methods"][f"{name} (batch_size {batch_size})"] = {
                "seconds": seconds, "gradients": gradients, "bound": gradients * best,
                "ratio": seconds / (gradients * best)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--steps", default="16,32,64,128")
    parser.add_argument("--samples", default="8,16,32,64")
    parser.add_argument("--speed-only", action="store_true", help="skip the count study")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: not found (the calibration images)")
    clf = xaixray.Classifier.load(args.model)
    paths = pick_images(args.data, args.n)
    images = [PreparedImage.load(clf, p) for p in paths]
    record: dict = {"model": args.model, "images": [p.name for p in paths]}
    print(f"agreement with a reference 4x the largest count, {len(images)} images: "
          "median (10th percentile); IG's completeness gap: median (max)")
    print(f"{'method':<22}{'count':>6}{'rank corr.':>18}{'top overlap':>18}{'gap':>18}"
          f"{'seconds':>9}")
    studies = () if args.speed_only else (("integrated_gradients", args.steps),
                                          ("smoothgrad", args.samples))
    for method, counts in studies:
        result = study(clf, images, method, [int(c) for c in counts.split(",")])
        record[method] = result
        for k, s in result["by_count"].items():
            print(f"{method:<22}{k:>6}{s['rho']['median']:>10.3f} ({s['rho']['p10']:.3f})"
                  f"{s['overlap']['median']:>10.3f} ({s['overlap']['p10']:.3f})"
                  f"{s['gap']['median']:>10.4f} ({s['gap']['max']:.4f})"
                  f"{s['seconds']['median']:>9.2f}")
        print(f"{method}: smallest count meeting the rule: {result['chosen']}")
    record["speed"] = speed(clf, images)
    sp = record["speed"]
    print("\nseconds per gradient by batch size: "
          + ", ".join(f"{b}: {s * 1e3:.1f} ms" for b, s in sp["seconds_per_gradient"].items()))
    print(f"{'method':<38}{'gradients':>10}{'seconds':>9}{'bound':>9}{'ratio':>7}")
    for name, m in sp["methods"].items():
        print(f"{name:<38}{m['gradients']:>10}{m['seconds']:>9.3f}{m['bound']:>9.3f}"
              f"{m['ratio']:>7.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    name = "gradient_speed.json" if args.speed_only else "gradient_counts.json"
    (args.out / name).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
