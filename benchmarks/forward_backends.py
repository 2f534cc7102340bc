"""Can the forward pass itself get cheaper? TensorFlow's compiled pass against XLA and ONNX Runtime.

Usage::

    python benchmarks/forward_backends.py [--models compact_cnn,cnn_lstm] [--batch 64]

Needs ``onnxruntime`` and ``tf2onnx`` (not dependencies of xaixray; install them in a separate
virtualenv). For each model (the bundled default, and seed 000's CNN-LSTM built with seed 0),
the whole forward pass xaixray uses (model-frame batch in [0, 1] -> probabilities, scaling
included) runs as:

- ``tf.function`` (what xaixray uses, ``Classifier.predict_proba_prepared``);
- ``tf.function(jit_compile=True)`` (XLA);
- ONNX Runtime on the graph converted by ``tf2onnx.convert.from_function`` (opset 17), two
  intra-op threads.

Rule (from the speed issue): adopt an alternative only if it is at least 1.5x faster and gives
probabilities equal within 1e-4. Each backend's ms per image is the median of interleaved
rounds. Prints a table and writes ``forward_backends.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="compact_cnn,cnn_lstm")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    import tensorflow as tf

    import xaixray

    record: dict = {"cpus": os.cpu_count(), "batch": args.batch, "models": {}}
    for name in args.models.split(","):
        clf = (xaixray.Classifier.load("default") if name == "compact_cnn"
               else xaixray.build(name, seed=0, weights=None))
        shape = clf.preprocessing.image_shape
        spec = [tf.TensorSpec((None, *shape), tf.float32, name="x")]
        batch = np.random.default_rng(0).random((args.batch, *shape), dtype=np.float32)
        backends = {"tensorflow": lambda b, c=clf: np.asarray(c.predict_proba_prepared(b, len(b)))}
        xla = tf.function(clf._forward_body, input_signature=spec, jit_compile=True)
        backends["xla"] = lambda b, f=xla: np.asarray(f(b))
        notes = {}
        try:
            import onnxruntime as ort
            import tf2onnx

            graph = tf.function(clf._forward_body, input_signature=spec)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model.onnx"
                tf2onnx.convert.from_function(graph, input_signature=spec, opset=17,
                                              output_path=str(path))
                options = ort.SessionOptions()
                options.intra_op_num_threads = 2
                session = ort.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
            input_name = session.get_inputs()[0].name
            backends["onnxruntime"] = lambda b, s=session, i=input_name: s.run(None, {i: b})[0]
        except Exception as exc:  # noqa: BLE001 - record why, keep TensorFlow
            notes["onnxruntime"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        reference = backends["tensorflow"](batch)
        times: dict[str, list[float]] = {k: [] for k in backends}
        diffs = {}
        for k, fn in backends.items():
            diffs[k] = float(np.abs(fn(batch) - reference).max())  # also warms up
        for _ in range(args.rounds):
            for k, fn in backends.items():
                start = time.perf_counter()
                fn(batch)
                times[k].append(1000 * (time.perf_counter() - start) / args.batch)
        rows = {k: {"ms_per_image": float(np.median(v)), "max_abs_diff": diffs[k]}
                for k, v in times.items()}
        base = rows["tensorflow"]["ms_per_image"]
        print(f"\n== {name} (input {shape}), batch {args.batch}")
        print(f"{'backend':<14}{'ms/img':>8}{'speed-up':>10}{'max |diff|':>12}  adopt?")
        for k, r in rows.items():
            r["speedup"] = base / r["ms_per_image"]
            r["adopt"] = k != "tensorflow" and r["speedup"] >= 1.5 and r["max_abs_diff"] <= 1e-4
            print(f"{k:<14}{r['ms_per_image']:>8.2f}{r['speedup']:>9.2f}x"
                  f"{r['max_abs_diff']:>12.1e}  {'yes' if r['adopt'] else 'no'}")
        for k, msg in notes.items():
            print(f"{k}: not measured ({msg})")
        record["models"][name] = {"rows": rows, "notes": notes}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "forward_backends.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'forward_backends.json'}")


if __name__ == "__main__":
    main()
