"""The reference for every speed claim: forward passes, each method against its bound, whole runs.

Usage::

    python benchmarks/bench_explain.py [--models compact_cnn,cnn_lstm] [--repeat 3]
                                       [--process-repeat 2] [--out benchmarks/results]

Two models of the zoo, fixed seeds, one bundled PNEUMONIA sample:

- ``compact_cnn``: the bundled default model (128x128 grayscale);
- ``cnn_lstm``: seed 000's CNN-LSTM (224x224x3), built with seed 0 and untrained (timings do
  not depend on the weights).

In one run it measures, for each model:

1. **Forward throughput** at batch 1, 16, 64 and 256, through ``model.predict`` and through
   xaixray's compiled path (``Classifier.predict_proba_prepared``): ms per image.
2. **Each method against its lower bound**, measured in the same run. The bound of LIME and SHAP
   is their number of forward passes at the best batch size of table 1, plus their own
   segmentation (SLIC) or masking (building the perturbed images), timed alone; Grad-CAM's is one
   eager forward and backward pass. LIME 1000 samples, SHAP 500 and 1000 evaluations; median of
   ``--repeat`` after a warm-up.
3. **A whole report as a process**, ``xaixray explain MODEL IMAGE`` from the shell, against the
   plain way (``benchmarks/plain_explain.py``: lime, shap and an eager Grad-CAM as their docs
   show them, one Matplotlib figure), with equal sample counts (LIME 1000; SHAP 500, then 1000),
   the same image, runs interleaved. xaixray runs with ``--no-faithfulness`` (the plain way
   measures nothing); its overhead is the wall time minus the methods' own seconds from
   ``report.json``.
4. **The newer methods against their bounds** (saliency, Input x Gradient, Integrated
   Gradients, SmoothGrad, HiResCAM, Layer-CAM, Score-CAM, occlusion, RISE), by the functions of
   ``benchmarks/gradient_counts.py`` (gradients needed x one gradient at the best batch size)
   and ``benchmarks/cam_perturbation_speed.py`` (one forward and backward pass; masked passes at
   the best batch size). Target: every method within 1.3x of its bound.
5. **Fixed costs**: ``import xaixray``, ``xaixray --help`` (both as processes), ``import
   tensorflow``, model load, and writing one three-method report.

Prints the tables and writes ``bench_explain.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xaixray.bundled import default_model_path

HERE = Path(__file__).resolve().parent
BATCHES = (1, 16, 64, 256)
LIME_SAMPLES = 1000
SHAP_EVALS = (500, 1000)
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def timed(fn: Callable[[], object], repeat: int, warmup: bool = True) -> float:
    """Median seconds of ``fn`` over ``repeat`` calls (after one warm-up call)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def process_seconds(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start, done.stdout


def load_model(name: str, folder: Path):
    import xaixray
    from xaixray import Classifier

    if name == "compact_cnn":
        return Classifier.load("default"), "default"
    clf = xaixray.build(name, seed=0, weights=None)
    path = folder / f"{name}.keras"
    clf.save(path)
    return Classifier.load(path), str(path)


def forward_table(clf, prepared: np.ndarray, repeat: int) -> dict:
    rows = {}
    for batch in BATCHES:
        x = np.repeat(prepared[None], batch, axis=0)
        model_x = np.asarray(clf.preprocessing.to_model_input(x))
        calls = max(repeat, 256 // batch)
        predict = timed(lambda m=model_x, b=batch: clf.model.predict(m, batch_size=b, verbose=0),
                        calls)
        compiled = timed(lambda x=x, b=batch: clf.predict_proba_prepared(x, batch_size=b), calls)
        rows[batch] = {"predict_ms": 1000 * predict / batch, "compiled_ms": 1000 * compiled / batch}
    return rows


def bounds(clf, prepared: np.ndarray, best_ms: float, repeat: int) -> dict:
    """Seconds that LIME, SHAP and Grad-CAM cannot go below (see the module docstring)."""
    import shap
    import tensorflow as tf

    from xaixray.explainers.lime import slic_segments

    gray = prepared[..., 0]
    segments = slic_segments(gray)
    slic = timed(lambda: slic_segments(gray), repeat)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 2, (LIME_SAMPLES, int(segments.max()) + 1)).astype(bool)
    fill = np.full_like(prepared, prepared.mean())

    def lime_masks() -> None:
        for start in range(0, LIME_SAMPLES, 64):
            keep = rows[start:start + 64][:, segments]
            np.where(keep[..., None], prepared[None], fill[None])

    lime_mask = timed(lime_masks, repeat)
    x = (prepared[..., :1] * 255).astype(np.float32)
    masker = shap.maskers.Image(f"blur({x.shape[0] // 2},{x.shape[0] // 2})", x.shape)
    shap_masks = {}
    for evals in SHAP_EVALS:
        masks = rng.integers(0, 2, (evals, x.size)).astype(bool)
        shap_masks[evals] = timed(lambda m=masks: [masker(row, x) for row in m], repeat)
    inputs = tf.convert_to_tensor(clf.preprocessing.to_model_input(prepared[None]))

    def forward_backward() -> None:
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            out = clf.model(inputs, training=False)
        tape.gradient(out[:, -1], inputs)

    out = {"gradcam": timed(forward_backward, repeat),
           "lime": LIME_SAMPLES * best_ms / 1000 + slic + lime_mask}
    for evals in SHAP_EVALS:
        out[f"shap {evals}"] = evals * best_ms / 1000 + shap_masks[evals]
    out["parts"] = {"slic_s": slic, "lime_masking_s": lime_mask,
                    **{f"shap_masking_{k}_s": v for k, v in shap_masks.items()}}
    return out


def method_times(clf, image: np.ndarray, repeat: int) -> dict:
    from xaixray.explainers import LIME, SHAP, GradCAM, PreparedImage

    prepared = PreparedImage.load(clf, image)
    explainers = {"gradcam": GradCAM(clf), "lime": LIME(clf, num_samples=LIME_SAMPLES)}
    explainers.update({f"shap {k}": SHAP(clf, max_evals=k) for k in SHAP_EVALS})
    return {name: timed(lambda e=e: e.explain_prepared(prepared), repeat)
            for name, e in explainers.items()}


def newer_methods(clf, image: np.ndarray, repeat: int) -> dict:
    """Seconds, bound and ratio of every method added after Grad-CAM, LIME and SHAP."""
    from cam_perturbation_speed import method_rows
    from gradient_counts import speed

    from xaixray.explainers import PreparedImage

    prepared = PreparedImage.load(clf, image)
    out = {name: {k: r[k] for k in ("seconds", "bound", "ratio")}
           for name, r in speed(clf, [prepared])["methods"].items()}
    out.update({name: {k: r[k] for k in ("seconds", "bound", "ratio")}
                for name, r in method_rows(clf, prepared, repeat)["methods"].items()})
    return out


def process_runs(model: str, clf, image_path: Path, folder: Path, repeat: int) -> dict:
    """``xaixray explain`` and the plain way as processes, interleaved."""
    h, w = clf.preprocessing.input_size
    plain_args = ["--size", str(h), str(w), "--channels", str(clf.preprocessing.channels),
                  "--scaling", "standardize" if clf.preprocessing.scaling == "standardize"
                  else "unit"]
    rows: dict[str, dict] = {}
    for evals in SHAP_EVALS:
        walls: dict[str, list[float]] = {"xaixray": [], "plain": []}
        overheads, plain_methods = [], []
        for run in range(repeat):
            out = folder / f"x{evals}-{run}"
            wall, _ = process_seconds([
                sys.executable, "-m", "xaixray", "explain", model, str(image_path), "--out",
                str(out), "--methods", "gradcam,lime,shap", "--num-samples", str(LIME_SAMPLES),
                "--max-evals", str(evals), "--no-faithfulness"])
            report = json.loads(next(out.rglob("report.json")).read_text())
            method_s = sum(m["seconds"] for m in report["methods"].values())
            walls["xaixray"].append(wall)
            overheads.append(wall - method_s)
            wall, stdout = process_seconds([
                sys.executable, str(HERE / "plain_explain.py"), model if model != "default"
                else str(default_model_path()), str(image_path), str(folder / "plain.png"),
                "--num-samples", str(LIME_SAMPLES), "--max-evals", str(evals), *plain_args])
            walls["plain"].append(wall)
            plain_methods.append(stdout.strip())
        rows[f"LIME {LIME_SAMPLES}, SHAP {evals}"] = {
            "xaixray_s": float(np.median(walls["xaixray"])),
            "plain_s": float(np.median(walls["plain"])),
            "xaixray_overhead_s": float(np.median(overheads)),
            "plain_methods": plain_methods}
    return rows


def fixed_costs(clf, image: np.ndarray, model: str, repeat: int) -> dict:
    import xaixray
    from xaixray import Classifier

    imports = [process_seconds([sys.executable, "-c", "import xaixray"])[0]
               for _ in range(repeat)]
    helps = [process_seconds([sys.executable, "-m", "xaixray", "--help"])[0]
             for _ in range(repeat)]
    tf_import = [process_seconds([sys.executable, "-c", "import tensorflow"])[0]
                 for _ in range(repeat)]
    load = timed(lambda: Classifier.load(model), repeat, warmup=False)
    result = xaixray.explain(clf, [image], methods=("gradcam", "lime", "shap"),
                             num_samples=100, max_evals=100, faithfulness=False)[0]
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10_000))
        write = timed(lambda: xaixray.write_report(result, Path(tmp) / str(next(counter))),
                      repeat)
    return {"import xaixray (process)": float(np.median(imports)),
            "xaixray --help (process)": float(np.median(helps)),
            "import tensorflow (process)": float(np.median(tf_import)),
            "model load": load, "write one report (3 methods)": write}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="compact_cnn,cnn_lstm")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--process-repeat", type=int, default=2)
    parser.add_argument("--no-process", action="store_true", help="skip table 3")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    from xaixray.bundled import sample_images
    from xaixray.imaging import load_image

    image_path = next(p for p in sample_images() if "PNEUMONIA" in p.name)
    image = load_image(image_path)
    record: dict = {"machine": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "image": image_path.name, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.models.split(","):
            clf, model = load_model(name, folder)
            prepared = clf.preprocessing.prepare([image])[0]
            forward = forward_table(clf, prepared, args.repeat)
            best = min(r["compiled_ms"] for r in forward.values())
            lower = bounds(clf, prepared, best, args.repeat)
            methods = method_times(clf, image, args.repeat)
            entry = {"input": list(clf.preprocessing.model_input_shape), "forward": forward,
                     "best_ms": best, "bounds": lower, "methods": methods}
            print(f"\n== {name} (input {clf.preprocessing.model_input_shape})")
            print(f"{'batch':>6}{'predict ms/img':>16}{'compiled ms/img':>17}")
            for b, r in forward.items():
                print(f"{b:>6}{r['predict_ms']:>16.2f}{r['compiled_ms']:>17.2f}")
            print(f"{'method':<12}{'seconds':>9}{'bound s':>9}{'ratio':>7}")
            for m, s in methods.items():
                print(f"{m:<12}{s:>9.2f}{lower[m]:>9.2f}{s / lower[m]:>7.2f}")
            entry["ratios"] = {m: s / lower[m] for m, s in methods.items()}
            entry["newer_methods"] = newer_methods(clf, image, args.repeat)
            print(f"{'newer method':<44}{'seconds':>9}{'bound s':>9}{'ratio':>7}")
            for m, r in entry["newer_methods"].items():
                print(f"{m:<44}{r['seconds']:>9.3f}{r['bound']:>9.3f}{r['ratio']:>7.2f}")
            if not args.no_process:
                entry["process"] = process_runs(model, clf, image_path, folder,
                                                args.process_repeat)
                print(f"{'whole report, process':<26}{'xaixray s':>10}{'plain s':>9}"
                      f"{'speed-up':>9}{'xaixray overhead s':>20}")
                for k, r in entry["process"].items():
                    print(f"{k:<26}{r['xaixray_s']:>10.1f}{r['plain_s']:>9.1f}"
                          f"{r['plain_s'] / r['xaixray_s']:>8.2f}x"
                          f"{r['xaixray_overhead_s']:>20.1f}")
            record["models"][name] = entry
        costs = fixed_costs(clf, image, model, args.repeat)
    record["fixed_costs"] = costs
    print("\n== fixed costs (median seconds)")
    for k, v in costs.items():
        print(f"{k:<32}{v:>8.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_explain.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'bench_explain.json'}")


if __name__ == "__main__":
    main()
