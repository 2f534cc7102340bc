"""Whole folders from the shell: ``xaixray explain`` over a test-set-sized folder of X-rays.

Usage::

    python benchmarks/folder_speed.py [--folder DIR] [--n 624] [--all-methods 100]
                                      [--model default] [--runs faithfulness,plain,all-methods]
                                      [--out benchmarks/results]

The official test split has 624 X-rays of about 1,000 to 2,900 px a side; the shared copies
are 224 to 256 px. So the folder is built once (``--folder``, default
``benchmarks/results/folder-624``): the 192 calibration images, then train images in name
order, each enlarged to a long side drawn uniformly from 1,000 to 2,500 px (fixed seed), aspect
ratio kept, saved as JPEG (quality 90). Building it is not timed.

Then, each as one process from the shell with the bundled model:

1. ``--methods gradcam`` over all ``--n`` images, reports with their faithfulness section (the
   default);
2. the same with ``--no-faithfulness``;
3. ``--methods gradcam,lime,shap`` (LIME 1000 samples, SHAP 1000 evaluations: the defaults)
   over the first ``--all-methods`` images.

Prints wall seconds and images per second and writes ``folder_speed.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def build_folder(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` test-sized JPEGs in ``folder`` (kept between runs)."""
    import cv2

    from xaixray.imaging import is_image_file

    existing = sorted(folder.glob("*.jpeg")) if folder.is_dir() else []
    if len(existing) >= n:
        return existing[:n]
    sources = sorted(p for p in (SHARED / "chest_xray_calibration").rglob("*")
                     if is_image_file(p))
    sources += sorted(p for p in (SHARED / "chest_xray" / "train").rglob("*")
                      if is_image_file(p))
    if len(sources) < n:
        raise SystemExit(f"{SHARED}: found {len(sources)} images, need {n}")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, src in enumerate(sources[:n]):
        image = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
        h, w = image.shape[:2]
        scale = rng.uniform(1000, 2500) / max(h, w)
        big = cv2.resize(image, (round(w * scale), round(h * scale)),
                         interpolation=cv2.INTER_CUBIC)
        paths.append(folder / f"{i:04d}-{src.parent.name}-{src.stem}.jpeg")
        cv2.imwrite(str(paths[-1]), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return paths


def run(model: str, inputs: list[str], out: Path, *extra: str) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "xaixray", "explain", model, *inputs,
                           "--out", str(out), *extra], env=ENV, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"xaixray explain failed ({done.returncode}):\n{done.stderr[-2000:]}")
    reports = len(list(out.rglob("report.json")))
    return {"wall_s": wall, "reports": reports, "images_per_s": reports / wall,
            "stdout": done.stdout.strip().splitlines()[-2:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=HERE / "results" / "folder-624")
    parser.add_argument("--n", type=int, default=624)
    parser.add_argument("--all-methods", type=int, default=100)
    parser.add_argument("--model", default="default")
    parser.add_argument("--runs", default="faithfulness,plain,all-methods",
                        help="which of the three runs (1, 2, 3 above) to make")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    paths = build_folder(args.folder, args.n)
    sizes = [os.path.getsize(p) for p in paths]
    print(f"{len(paths)} JPEGs in {args.folder}, {sum(sizes) / 1e6:.0f} MB")
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [str(p) for p in paths]
        wanted = set(args.runs.split(","))
        if "faithfulness" in wanted:
            runs[f"gradcam, {len(paths)} images"] = run(args.model, inputs, Path(tmp) / "a",
                                                        "--methods", "gradcam")
        if "plain" in wanted:
            runs[f"gradcam, {len(paths)} images, --no-faithfulness"] = run(
                args.model, inputs, Path(tmp) / "b", "--methods", "gradcam",
                "--no-faithfulness")
        k = min(args.all_methods, len(paths))
        if "all-methods" in wanted:
            runs[f"gradcam,lime,shap, {k} images"] = run(
                args.model, inputs[:k], Path(tmp) / "c", "--methods", "gradcam,lime,shap")
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'run':<48}{'seconds':>9}{'images/s':>10}")
    for name, r in runs.items():
        print(f"{name:<48}{r['wall_s']:>9.1f}{r['images_per_s']:>10.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "model": args.model, "n": len(paths), "runs": runs}
    (args.out / "folder_speed.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'folder_speed.json'}")


if __name__ == "__main__":
    main()
