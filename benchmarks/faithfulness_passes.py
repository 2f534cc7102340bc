"""How few passes does a report's faithfulness verdict need? Steps and random orders, measured.

Usage::

    python benchmarks/faithfulness_passes.py [--data ../shared/data/chest_xray_calibration]
                                             [--n 32] [--methods gradcam,gradcam++,saliency,
                                             input_x_gradient] [--out benchmarks/results]

Each report says, for every map, whether it beat random on deletion and on insertion
(:func:`xaixray.metrics.faithfulness`: 16 x 16 cells, blur, log-odds). Its cost is the number of
curve steps times the number of curves (the map's and ``n_random`` random orders', for both
kinds). This script takes ``--n`` calibration X-rays (half NORMAL, half PNEUMONIA, in name order),
the bundled model and the cheap ``--methods``, and compares each setting's verdicts with those
of a reference 2x finer and with 4x as many random orders (50 steps, 12 random orders).

**The rule, fixed before the run:** the report's setting is the cheapest (fewest forward passes
per image) whose agreement with the reference on the "beat random on both" verdict is at least
that of the current default (25 steps, 3 random orders) less 2 percentage points, and whose
agreement on deletion and on insertion separately is at least that of the default less 3
points.

Prints the table and writes ``faithfulness_passes.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

import xaixray
from xaixray.metrics.summary import faithfulness_many

HERE = Path(__file__).resolve().parent
REFERENCE = (50, 12)
DEFAULT = (25, 3)
STEPS = (5, 8, 10, 15, 25)
N_RANDOM = (1, 2, 3)


def passes(steps: int, n_random: int, n_maps: int) -> int:
    """Forward passes of one image's curves: inner steps of every curve, plus the two ends."""
    return 2 + 2 * (n_random + n_maps) * (steps - 1)


def verdicts(found: list[dict]) -> np.ndarray:
    """``(images * maps, 3)`` booleans: deletion better, insertion better, both."""
    return np.array([[d["deletion_better"], d["insertion_better"], d["faithful"]]
                     for f in found for d in f["methods"].values()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=HERE.parents[1] / "shared" / "data" / "chest_xray_calibration")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--methods", default="gradcam,gradcam++,saliency,input_x_gradient")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    clf = xaixray.Classifier.load("default")
    paths = []
    for name in clf.class_names:
        found = sorted(p for p in (args.data / name).iterdir()
                       if xaixray.imaging.is_image_file(p) and not p.stem.endswith("_mask"))
        paths += found[:args.n // len(clf.class_names)]
    methods = args.methods.split(",")
    results = xaixray.explain(clf, [str(p) for p in paths], methods=methods,
                              faithfulness=False)
    n_maps = len(methods)

    def measure(steps: int, n_random: int, seed: int = 0) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        found = []
        for k in range(0, len(results), 16):
            found += faithfulness_many(clf, results[k:k + 16], steps=steps, n_random=n_random,
                                       seed=seed)
        return verdicts(found), (time.perf_counter() - start) / len(results)

    # the reference draws its own random orders: sharing the candidates' first ones would
    # make them agree by construction
    reference, ref_s = measure(*REFERENCE, seed=1)
    rows = []
    for steps, n_random in itertools.product(STEPS, N_RANDOM):
        v, seconds = measure(steps, n_random)
        agree = (v == reference).mean(axis=0)
        rows.append({"steps": steps, "n_random": n_random,
                     "passes": passes(steps, n_random, n_maps), "seconds_per_image": seconds,
                     "agree_deletion": float(agree[0]), "agree_insertion": float(agree[1]),
                     "agree_both": float(agree[2])})
    default = next(r for r in rows if (r["steps"], r["n_random"]) == DEFAULT)
    ok = [r for r in rows
          if r["agree_both"] >= default["agree_both"] - 0.02
          and r["agree_deletion"] >= default["agree_deletion"] - 0.03
          and r["agree_insertion"] >= default["agree_insertion"] - 0.03]
    chosen = min(ok, key=lambda r: (r["passes"], -r["agree_both"]))

    print(f"{len(results)} calibration images x {n_maps} maps ({', '.join(methods)}); "
          f"reference {REFERENCE[0]} steps, {REFERENCE[1]} random orders "
          f"({ref_s:.2f} s/image); share of verdicts equal to the reference's")
    print(f"{'steps':>5} {'random':>6} {'passes':>7} {'s/image':>8} {'deletion':>9} "
          f"{'insertion':>9} {'both':>6}")
    for r in rows:
        mark = " <- chosen" if r is chosen else (" (default)" if r is default else "")
        print(f"{r['steps']:>5} {r['n_random']:>6} {r['passes']:>7} "
              f"{r['seconds_per_image']:>8.3f} {r['agree_deletion']:>9.3f} "
              f"{r['agree_insertion']:>9.3f} {r['agree_both']:>6.3f}{mark}")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"images": [str(p) for p in paths], "methods": methods, "reference": REFERENCE,
              "reference_seconds_per_image": ref_s,
              "reference_share_faithful": float(reference[:, 2].mean()), "rows": rows,
              "chosen": chosen}
    (args.out / "faithfulness_passes.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'faithfulness_passes.json'}")


if __name__ == "__main__":
    main()
