"""HiResCAM, Layer-CAM, Score-CAM, occlusion and RISE: seconds per image against their bound.

Usage::

    python benchmarks/cam_perturbation_speed.py [--model default] [--repeat 3]
                                                [--out benchmarks/results]

On one bundled PNEUMONIA sample, each method at its defaults (median of ``--repeat`` after a
warm-up) against its lower bound, measured in the same run:

- HiResCAM and Layer-CAM: one eager forward and backward pass of one image (what Grad-CAM
  needs, ``GradCAM._map_and_gradients``);
- Score-CAM: its forward-only capture pass plus one masked forward pass per channel (and one for
  the baseline) at the best batch size;
- occlusion and RISE: their masked forward passes (patches + 1, masks) at the best batch size.

The best batch size is the fastest of 16, 64 and 256 for ``predict_masked_prepared`` with soft
masks (the slower of the two mask kinds); the bound is also given at batch 64, the methods'
default ``batch_size``. Prints a table and writes
``cam_perturbation_speed.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import xaixray
from xaixray.explainers import METHODS, GradCAM, PreparedImage

NEW = ("hirescam", "layercam", "scorecam", "occlusion", "rise")


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def method_rows(clf, image: PreparedImage, repeat: int) -> dict:
    """Each method of :data:`NEW` on ``image``: seconds, bound and ratio (see the docstring)."""
    x = image.prepared
    h, w = x.shape[:2]
    masks = np.random.default_rng(0).random((256, h, w)).astype(np.float32)
    per_pass = {}
    for b in (16, 64, 256):
        seconds = timed(lambda b=b: clf.predict_masked_prepared(x, x, masks, batch_size=b),
                        repeat)
        per_pass[b] = seconds / len(masks)
    best = min(per_pass, key=per_pass.get)
    pass_s = per_pass[best]
    gradcam = GradCAM(clf)
    backward = timed(lambda: gradcam._map_and_gradients(x[None], [image.predicted]), repeat)

    rows = {}
    for m in NEW:
        explainer = METHODS[m](clf)
        seconds = timed(lambda e=explainer: e.explain_prepared(image), repeat)
        e = explainer.explain_prepared(image)
        if m in ("hirescam", "layercam"):
            passes, bound, at64 = "1 fwd+bwd", backward, backward
        else:
            extra = backward if m == "scorecam" else 0.0
            n = (e.extras["channels_used"] + 1 if m == "scorecam" else
                 e.extras["patches"] + 1 if m == "occlusion" else explainer.params["masks"])
            passes = f"1 fwd + {n}" if m == "scorecam" else f"{n}"
            bound, at64 = extra + n * pass_s, extra + n * per_pass[64]
        rows[m] = {"seconds": seconds, "bound": bound, "bound_at_64": at64, "passes": passes,
                   "ratio": seconds / bound, "ratio_at_64": seconds / at64}
    return {"best_batch": best, "pass_ms": {str(b): 1000 * s for b, s in per_pass.items()},
            "backward_ms": 1000 * backward, "methods": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    clf = xaixray.Classifier.load(args.model)
    xray = next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)
    found = method_rows(clf, PreparedImage.load(clf, xray), args.repeat)
    best = found["best_batch"]
    print(f"model {clf.name}, image {xray.name}; masked pass {found['pass_ms'][str(best)]:.2f} "
          f"ms/image at batch {best}; forward+backward of one image "
          f"{found['backward_ms']:.1f} ms")
    print(f"{'method':<10}{'passes':>14}{'seconds':>10}{'bound':>10}{'ratio':>8}"
          f"{'bound@64':>10}{'ratio':>8}")
    for m, r in found["methods"].items():
        print(f"{m:<10}{r['passes']:>14}{r['seconds']:>10.3f}{r['bound']:>10.3f}"
              f"{r['ratio']:>8.2f}{r['bound_at_64']:>10.3f}{r['ratio_at_64']:>8.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"model": args.model, "image": xray.name, **found}
    (args.out / "cam_perturbation_speed.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'cam_perturbation_speed.json'}")


if __name__ == "__main__":
    main()
