"""Seconds per explanation method, and for a whole report, on one image.

Usage::

    python benchmarks/explain_speed.py [--model default] [--image X.jpeg] [--size 224] [--repeat 3]

The image (default: a bundled PNEUMONIA sample) is resized to ``--size`` x ``--size`` first, so
timings are for that image size. Each method runs once to warm up (compilation, numba JIT, imports)
and then ``--repeat`` times; the median is reported, with the methods' default parameters (LIME
1000 samples, SHAP 1000 evaluations). "whole report" is ``xaixray.explain`` with all three methods
plus ``write_report`` (figure.png, report.json, report.html), as ``xaixray explain`` makes it:
with the faithfulness section (deletion/insertion against random, border and outside-body shares,
the curves figure); "report, no faithfulness" is the same with ``faithfulness=False``. The two are
run alternately, so that both see the same machine load. Prints a table and writes
``explain_speed.json`` into ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import xaixray
from xaixray import Classifier
from xaixray.bundled import sample_images
from xaixray.imaging import load_image

METHODS = ("gradcam", "lime", "shap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help=".keras file or 'default'")
    parser.add_argument("--image", type=Path, help="default: a bundled PNEUMONIA sample")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    source = args.image or next(p for p in sample_images() if "PNEUMONIA" in p.name)
    image = cv2.resize(load_image(source), (args.size, args.size), interpolation=cv2.INTER_AREA)
    clf = Classifier.load(args.model)

    rows_order = (*METHODS, "whole report", "report, no faithfulness")
    seconds: dict[str, list[float]] = {m: [] for m in rows_order}
    for run in range(args.repeat + 1):  # run 0 warms up
        for m in METHODS:
            t0 = time.perf_counter()
            xaixray.explain(clf, [image], methods=(m,))
            if run:
                seconds[m].append(time.perf_counter() - t0)
        for key, faithful in (("whole report", True), ("report, no faithfulness", False)):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                result = xaixray.explain(clf, [image], methods=METHODS,
                                         faithfulness=faithful)[0]
                xaixray.write_report(result, Path(tmp) / "report")
                if run:
                    seconds[key].append(time.perf_counter() - t0)

    rows = {k: {"median_s": float(np.median(v)), "min_s": float(np.min(v))}
            for k, v in seconds.items()}
    print(f"model {clf.name} (input {clf.preprocessing.model_input_shape}), image "
          f"{args.size}x{args.size}, median of {args.repeat} after a warm-up")
    print(f"{'method':<26}{'median s':>10}{'min s':>10}")
    for k, r in rows.items():
        print(f"{k:<26}{r['median_s']:>10.2f}{r['min_s']:>10.2f}")
    with_f, without = seconds["whole report"], seconds["report, no faithfulness"]
    overhead = float(np.median(np.asarray(with_f) / np.asarray(without)) - 1.0)
    print(f"faithfulness adds {overhead:.0%} to a whole report (median of the paired ratios)")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"model": str(args.model), "image": str(source), "size": args.size,
              "repeat": args.repeat, "machine": platform.processor() or platform.machine(),
              "seconds": rows, "faithfulness_overhead": overhead}
    (args.out / "explain_speed.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'explain_speed.json'}")


if __name__ == "__main__":
    main()
