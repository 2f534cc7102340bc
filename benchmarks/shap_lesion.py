"""Why does SHAP miss the lesion? Each suspected cause measured on its own, on lesion phantoms.

Usage::

    python benchmarks/shap_lesion.py [--n-train 600] [--n 20] [--epochs 12]
                                     [--out benchmarks/results]

The issue's case, rebuilt: the compact CNN trained on ``--n-train`` phantoms (128 px), its
correctly predicted lesion phantoms of a fresh set (``--n`` of them) explained by SHAP at its
defaults (2000 evaluations, blur masker, probability) and by Grad-CAM for comparison. Then one
change at a time, the rest at the defaults:

- **saturation of the probability**: ``output="logit"``, and the share of images whose
  probability is above 0.999 (where hiding a region hardly moves it);
- **the blur fill**: ``masker="blur(16,16)"`` and ``"blur(4,4)"`` (a hidden rectangle becomes a
  local average over a smaller window; the default window is half the image side, so a hidden
  lesion keeps part of its brightness only when the window is small), and ``"inpaint_telea"``;
- **the partition's rectangles against the lesion**: ``max_evals=8000``; and, for the default
  map, the area of the flat region around its peak (the partition leaf it falls in) against the
  lesion's area;
- **ties at the peak**: how many pixels share the maximum, and whether any of them is in the
  lesion (the pointing game takes the tied pixel closest to the ties' centroid).

First, as in ``benchmarks/known_truth.py``, **reliance**: the share of these phantoms whose
decision flips (or whose log-odds fall at least 90% of the way to the threshold) when the lesion
is replaced by the surrounding tissue. Where it is low, the model does not need the lesion and a
map that misses it is not at fault.

Scores: pointing game (2 px tolerance), relevance mass and top-area IoU against the lesion masks.
Prints a table and writes ``shap_lesion.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from known_truth import reliance
from scipy import ndimage

import xaixray
from xaixray.data import make_phantoms
from xaixray.explainers import SHAP, GradCAM, PreparedImage
from xaixray.metrics import localization

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "shap (defaults: 2000 evaluations, blur, probability)": {},
    "shap output=logit": {"output": "logit"},
    "shap masker=blur(16,16)": {"masker": "blur(16,16)"},
    "shap masker=blur(4,4)": {"masker": "blur(4,4)"},
    "shap masker=inpaint_telea": {"masker": "inpaint_telea"},
    "shap max_evals=8000": {"max_evals": 8000},
}


def peak_facts(heat: np.ndarray, mask: np.ndarray) -> dict:
    """Ties at the maximum, and the flat region (partition leaf) around it."""
    peak = heat.max()
    tied = np.isclose(heat, peak, rtol=0, atol=1e-12 + 1e-9 * abs(peak))
    labels, _ = ndimage.label(tied)
    leaf = labels == labels[np.unravel_index(np.argmax(heat), heat.shape)]
    return {"tied_pixels": int(tied.sum()), "any_tie_in_lesion": bool((tied & mask).any()),
            "peak_leaf_area": int(leaf.sum()), "lesion_area": int(mask.sum())}


def scores(maps: list[np.ndarray], masks: list[np.ndarray]) -> dict:
    found = [localization(h, m, tolerance=2) for h, m in zip(maps, masks)]
    return {k: float(np.mean([f[k] for f in found]))
            for k in ("pointing_game", "relevance_mass", "top_area_iou")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=600)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--variants", default=",".join(str(i) for i in range(len(VARIANTS))),
                        help="which rows of the table to run (0-based, comma-separated)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    start = time.perf_counter()
    clf = xaixray.build("compact_cnn", input_size=(128, 128), channels=1, crop="none",
                        weights=None, seed=0)
    xaixray.train(clf, make_phantoms(args.n_train, 128, seed=20),
                  make_phantoms(100, 128, seed=21), epochs=args.epochs, augment=False,
                  verbose=0, seed=0)
    trained = time.perf_counter() - start
    test = make_phantoms(4 * args.n, 128, seed=22)
    proba = clf.predict_proba(list(test.images))
    correct = np.nonzero((clf.decide(proba) == 1) & (test.labels == 1))[0][:args.n]
    images = PreparedImage.load_many(clf, list(test.images[correct]),
                                     [f"phantom-{i}" for i in correct])
    masks = [test.masks[i] for i in correct]
    p = proba[correct, clf.positive_index]
    relies = float(np.mean(reliance(clf, test.images[correct], test.masks[correct])))
    print(f"compact CNN on {args.n_train} phantoms ({trained:.0f} s); {len(correct)} correctly "
          f"predicted lesion phantoms; probability > 0.999 on {np.mean(p > 0.999):.0%}; "
          f"reliance on the lesion {relies:.2f}")

    rows = {}
    gradcam = [e.heatmap for e in GradCAM(clf).explain_prepared_many(images, [None] * len(images))]
    rows["gradcam (reference)"] = scores(gradcam, masks)
    chosen = [list(VARIANTS)[int(k)] for k in args.variants.split(",") if k.strip()]
    facts = None
    for name in chosen:
        t = time.perf_counter()
        explainer = SHAP(clf, **VARIANTS[name])
        maps = [explainer.explain_prepared(im).heatmap for im in images]
        rows[name] = {**scores(maps, masks), "seconds_per_image": (time.perf_counter() - t)
                      / len(images)}
        if not VARIANTS[name]:
            facts = [peak_facts(h, m) for h, m in zip(maps, masks)]
        print(f"  {name}: pointing {rows[name]['pointing_game']:.2f}", flush=True)

    print(f"\n{'map':<56}{'pointing':>9}{'mass':>7}{'IoU':>7}")
    for name, r in rows.items():
        print(f"{name:<56}{r['pointing_game']:>9.2f}{r['relevance_mass']:>7.2f}"
              f"{r['top_area_iou']:>7.2f}")
    summary = {}
    if facts:
        summary = {
            "median_tied_pixels": float(np.median([f["tied_pixels"] for f in facts])),
            "share_with_a_tie_in_lesion": float(np.mean([f["any_tie_in_lesion"]
                                                         for f in facts])),
            "median_peak_leaf_area": float(np.median([f["peak_leaf_area"] for f in facts])),
            "median_lesion_area": float(np.median([f["lesion_area"] for f in facts]))}
        print("\ndefault SHAP map: " + ", ".join(f"{k} {v:.2f}" for k, v in summary.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"n_train": args.n_train, "n": len(correct), "train_seconds": trained,
              "reliance_share": relies,
              "share_saturated": float(np.mean(p > 0.999)), "rows": rows,
              "default_peaks": facts, "default_peak_summary": summary}
    (args.out / "shap_lesion.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'shap_lesion.json'}")


if __name__ == "__main__":
    main()
