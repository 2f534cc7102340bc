"""Load check of the web app on the loopback address: concurrent predictions, with and without
LIME/SHAP running beside them.

Usage::

    python benchmarks/serve_load.py [--model default] [--requests 200] [--clients 8]
                                    [--server auto|waitress|werkzeug]

A real server is started on 127.0.0.1 (waitress with ``--clients`` threads if it is installed,
else Werkzeug's threaded server), and ``--requests`` ``POST /api/predict`` requests with the
bundled sample X-rays are sent from ``--clients`` concurrent clients, twice:

1. ``predict``: predictions only;
2. ``predict + LIME/SHAP``: the same while one more client keeps asking for
   ``/api/explain?methods=lime,shap`` (the slow methods go through the app's worker pool).

Every answer must be 200 with the prediction the classifier gives directly; the script exits 1
otherwise. It prints p50/p95/max latency and throughput per phase and writes
``serve_load.json`` into ``--out`` (default ``benchmarks/results``). Bounded: at most 2,000
requests and 32 clients, 60 s per request, loopback only.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

import xaixray
from xaixray import Classifier
from xaixray.serve import BackgroundServer, create_app

HOST = "127.0.0.1"
TIMEOUT = 60.0


def multipart(data: bytes, name: str) -> tuple[bytes, str]:
    """A multipart/form-data body with ``data`` in the field ``file``, and its content type."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + data + tail, f"multipart/form-data; boundary={boundary}"


def post(url: str, body: bytes, content_type: str) -> tuple[int, dict, float]:
    """Status, JSON answer and seconds of one POST."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    seconds = time.perf_counter() - start
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = {"error": payload[:200].decode(errors="replace")}
    return status, answer, seconds


class Server:
    """waitress (if installed and asked for) or Werkzeug, serving ``app`` on 127.0.0.1."""

    def __init__(self, app: Any, kind: str, threads: int) -> None:
        self.kind = kind
        if kind == "waitress":
            import waitress

            self._server = waitress.create_server(app, host=HOST, port=0, threads=threads)
            self.url = f"http://{HOST}:{self._server.effective_port}/"
            self._thread = threading.Thread(target=self._server.run, daemon=True)
            self._thread.start()
        else:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
            self._server = BackgroundServer(app, HOST, 0)
            self.url = self._server.url

    def stop(self) -> None:
        if self.kind == "waitress":
            self._server.close()
            self._thread.join(timeout=10)
        else:
            self._server.stop()


def phase(url: str, bodies: list, expected: list[str], requests: int, clients: int,
          slow: tuple[bytes, str] | None) -> dict[str, Any]:
    """Send ``requests`` predictions from ``clients`` threads; optionally LIME/SHAP beside them."""
    done = threading.Event()
    slow_runs: list[tuple[int, float]] = []

    def keep_explaining() -> None:
        while not done.is_set():
            status, _, seconds = post(url + "api/explain?methods=lime,shap", *slow)
            slow_runs.append((status, seconds))

    explainer = threading.Thread(target=keep_explaining, daemon=True) if slow else None
    if explainer:
        explainer.start()
        time.sleep(0.5)  # let the first slow request reach the pool

    def one(i: int) -> tuple[int, bool, float, str]:
        k = i % len(bodies)
        status, answer, seconds = post(url + "api/predict", *bodies[k])
        return status, answer.get("prediction") == expected[k], seconds, answer.get("error", "")

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(requests)))
    wall = time.perf_counter() - start
    done.set()
    if explainer:
        explainer.join(timeout=TIMEOUT * 2)
    latency = np.array([r[2] for r in results]) * 1000
    errors = [f"{r[0]}: {r[3]}" for r in results if r[0] != 200]
    return {
        "requests": requests, "clients": clients,
        "errors": len(errors), "error_examples": errors[:3],
        "wrong_predictions": sum(1 for r in results if r[0] == 200 and not r[1]),
        "p50_ms": float(np.percentile(latency, 50)), "p95_ms": float(np.percentile(latency, 95)),
        "max_ms": float(latency.max()), "requests_per_s": requests / wall, "wall_s": wall,
        "slow_requests": [{"status": s, "seconds": round(t, 2)} for s, t in slow_runs],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help=".keras file or 'default'")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--server", choices=("auto", "waitress", "werkzeug"), default="auto")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if not 1 <= args.requests <= 2000 or not 1 <= args.clients <= 32:
        parser.error("--requests must be 1-2000 and --clients 1-32")
    kind = args.server
    if kind == "auto":
        try:
            import waitress  # noqa: F401

            kind = "waitress"
        except ImportError:
            kind = "werkzeug"

    clf = Classifier.load(args.model)
    samples = xaixray.sample_images()
    bodies = [multipart(p.read_bytes(), p.name) for p in samples]
    expected = list(clf.predict(samples))
    app = create_app(clf, "gradcam,lime,shap")
    server = Server(app, kind, args.clients + 2)
    try:
        for body in bodies:  # warm-up, not counted: compiled forward pass, first requests
            post(server.url + "api/predict", *body)
        phases = {
            "predict": phase(server.url, bodies, expected, args.requests, args.clients, None),
            "predict + LIME/SHAP": phase(server.url, bodies, expected, args.requests,
                                         args.clients, bodies[-1]),
        }
    finally:
        server.stop()
        app.extensions["xaixray"].close()

    print(f"model {clf.name}, server {kind} on {HOST}, {args.requests} POST /api/predict from "
          f"{args.clients} clients per phase, {len(samples)} bundled X-rays")
    print(f"{'phase':<22}{'errors':>7}{'wrong':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
          f"{'req/s':>8}")
    for name, r in phases.items():
        print(f"{name:<22}{r['errors']:>7}{r['wrong_predictions']:>7}{r['p50_ms']:>9.1f}"
              f"{r['p95_ms']:>9.1f}{r['max_ms']:>9.1f}{r['requests_per_s']:>8.1f}")
    slow = phases["predict + LIME/SHAP"]["slow_requests"]
    runs = ", ".join(f"{s['status']} in {s['seconds']} s" for s in slow)
    print(f"LIME+SHAP requests beside the second phase: {len(slow)} ({runs})")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"model": str(args.model), "server": kind, "host": HOST,
              "machine": platform.processor() or platform.machine(), "phases": phases}
    (args.out / "serve_load.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'serve_load.json'}")
    bad = sum(r["errors"] + r["wrong_predictions"] for r in phases.values())
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
