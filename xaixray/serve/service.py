"""What the web app does, without the web: decode an upload, predict, explain, render.

:class:`ExplainService` holds one classifier and its explainers, built once. Every request
calls it with an :class:`Upload` (decoded by :func:`decode_upload`, the same decoder as the
CLI) and gets JSON-ready dicts back. Flask only moves bytes in and out (:mod:`.app`).

Concurrency. Prediction and the gradient CAMs run in the request's own thread (the explainers
never change the model, see :mod:`xaixray.explainers.gradcam`). Requests that ask for LIME, SHAP
or another method outside :data:`FAST_METHODS`, which take seconds of full CPU each, go to a
small pool of worker threads (one by default) with
a bounded number of places: when all are taken the request is refused at once with
:class:`ServiceBusy` (HTTP 503) instead of queueing without end, so slow explanations can never
hold up the threads that answer predictions. Matplotlib is not thread-safe, so drawing the
overlays takes a lock (tens of milliseconds per request).
"""

from __future__ import annotations

import base64
import concurrent.futures
import re
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError, ImageError, XaixrayError
from ..explainers import (
    DEFAULT_METHODS,
    METHODS,
    ExplanationSet,
    PreparedImage,
    check_methods,
    explain_image,
    make_explainers,
)
from ..files import json_ready, to_json
from ..imaging import read_image
from ..metrics import faithfulness
from ..plots import figure_to_png, plot_explanations, plot_faithfulness, plot_overlay
from ..prediction_sets import set_record
from ..preprocessing_inference import scaling_notice
from ..reports import render_report_html, report_dict
from ..version import __version__

FAST_METHODS = frozenset({"gradcam", "gradcam++", "hirescam", "layercam",
                          "saliency", "input_x_gradient"})
"""Methods cheap enough to run in the request's thread (one forward and backward pass); the
others (LIME, SHAP, Score-CAM, occlusion, RISE, Integrated Gradients, SmoothGrad: hundreds of
passes) go to the worker pool."""

UPLOAD_NAME = "upload"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")


class ServiceBusy(XaixrayError):
    """Every place for slow explanations is taken, or one took longer than allowed."""


@dataclass(frozen=True)
class Upload:
    """An uploaded image, decoded.

    Attributes
    ----------
    name
        The client's file name, cleaned for display (messages and reports only, never a path).
    image
        ``uint8`` ``(H, W)`` or ``(H, W, 3)``, as :func:`xaixray.imaging.read_image` gives.
    """

    name: str
    image: np.ndarray


def display_name(filename: str | None) -> str:
    """The last component of a client's file name, without control characters, at most 120
    characters; ``"upload"`` when nothing is left. Only ever shown, never used as a path."""
    text = _UNSAFE.sub("", str(filename or "")).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return text[:120] or UPLOAD_NAME


def decode_upload(data: bytes, filename: str | None = None,
                  temp_root: str | None = None) -> Upload:
    """Decode uploaded bytes with the CLI's decoder, through a per-call temporary folder.

    The bytes are written to ``<fresh temporary folder>/upload`` (the client's file name is not
    used), read with :func:`xaixray.imaging.read_image` and the folder is removed before this
    returns, whatever happened.

    Raises
    ------
    ImageError
        ``"<name>: <reason>"`` with the client's displayed name: empty file, not an image,
        truncated, decompression bomb, too small...
    """
    name = display_name(filename)
    with tempfile.TemporaryDirectory(prefix="xaixray-upload-", dir=temp_root) as folder:
        path = Path(folder) / UPLOAD_NAME
        path.write_bytes(data)
        try:
            image = read_image(path)
        except ImageError as exc:
            message = str(exc)
            reason = message[len(str(path)) + 2:] if message.startswith(f"{path}: ") else message
            raise ImageError(f"{name}: {reason}") from None
    return Upload(name, image)


class ExplainService:
    """One classifier, its explainers and a bounded pool for the slow ones.

    Parameters
    ----------
    classifier
        The :class:`~xaixray.Classifier` to serve.
    methods
        The methods this service offers (default Grad-CAM, LIME and SHAP).
    workers
        Threads that run requests with LIME or SHAP (default 1).
    queue
        Such requests that may wait for a worker (default 4); more are refused with
        :class:`ServiceBusy`.
    timeout
        Seconds a request waits for its slow explanations before :class:`ServiceBusy`.
    seed, params, options
        As for :func:`xaixray.explainers.make_explainers` (``num_samples=``, ``max_evals=``...).
    """

    def __init__(self, classifier: Classifier, methods: Sequence[str] | str = DEFAULT_METHODS,
                 *, workers: int = 1, queue: int = 4, timeout: float = 300.0, seed: int = 0,
                 params: Mapping[str, Mapping[str, Any]] | None = None,
                 **options: Any) -> None:
        if int(workers) < 1 or int(queue) < 0:
            raise ValueError("workers must be >= 1 and queue >= 0")
        self.classifier = classifier
        self.methods = check_methods(methods)
        self.explainers, self.unavailable = make_explainers(classifier, self.methods, seed,
                                                            params, **options)
        self.workers, self.queue, self.timeout = int(workers), int(queue), float(timeout)
        self._pool = concurrent.futures.ThreadPoolExecutor(self.workers,
                                                           thread_name_prefix="xaixray-explain")
        self._places = threading.BoundedSemaphore(self.workers + self.queue)
        self._drawing = threading.Lock()
        self.seed = int(seed)
        # compile both forward passes now, before requests share the model across threads:
        # the log-odds pass reads the head as linear while it is being traced
        blank = np.zeros((1, *classifier.preprocessing.image_shape), np.float32)
        classifier.predict_proba_prepared(blank)
        classifier.predict_log_odds_prepared(blank)

    # ------------------------------------------------------------------ requests
    def health(self) -> dict[str, Any]:
        """Model name, xaixray version, methods offered, classes, threshold, the positive class
        and whether a model of more classes decides one-vs-rest at the threshold
        (``one_vs_rest``), input scaling and whether it was guessed (``scaling_notice``)."""
        clf = self.classifier
        return json_ready({
            "status": "ok",
            "model": clf.name,
            "version": __version__,
            "xaixray_version": __version__,
            "classes": list(clf.class_names),
            "threshold": clf.threshold,
            "positive_class": clf.positive_class,
            # more than two classes, decided at the threshold on P(positive_class), else arg-max
            "one_vs_rest": clf.one_vs_rest,
            "scaling": clf.preprocessing.scaling,
            "provenance": dict(clf.provenance),
            # one sentence when the input scaling was guessed, not read from the file; else null
            "scaling_notice": scaling_notice(clf.metadata()),
            "methods": [m for m in self.methods if m in self.explainers],
            "titles": {m: METHODS[m].title for m in self.methods},
            "slow_methods": [m for m in self.methods
                             if m in self.explainers and m not in FAST_METHODS],
            "unavailable": dict(self.unavailable),
        })

    def predict(self, upload: Upload) -> dict[str, Any]:
        """``{"prediction", "probabilities", "threshold", "model", "prediction_set"}`` for one
        upload; ``prediction_set`` (``{"classes", "label", "alpha"}``, the conformal set) is
        ``None`` for a model without conformal quantiles."""
        proba = np.asarray(self.classifier.predict_proba([upload.image]), np.float64)[0]
        return self._prediction(proba)

    def parse_methods(self, text: str | None) -> list[str]:
        """Methods asked for in a query (comma-separated); ``None`` means all offered.

        Raises
        ------
        ExplainerError
            For an empty list, an unknown method or one this service does not offer.
        """
        if text is None:
            return list(self.methods)
        methods = check_methods(text)
        missing = [m for m in methods if m not in self.methods]
        if missing:
            raise ExplainerError(f"method {missing[0]!r} is not enabled on this server "
                                 f"(enabled: {', '.join(self.methods)})")
        return methods

    def explain(self, upload: Upload, methods: Sequence[str] | None = None,
                report: bool = False) -> dict[str, Any]:
        """The prediction plus one overlay per method, agreement and (optionally) the report.

        Returns the fields of :meth:`predict` and ``explanations`` (``{method: {"png": base64
        PNG of the overlay, "seconds", "title", "target", "target_name", "score", "signed",
        "params", "seed", "summary", "details"}}``), ``errors`` (``{method: message}`` for
        methods that could not run), ``agreement`` (pairs of methods), ``image``
        (``height``, ``width`` and ``model_box``: the part of the image a cropping model sees,
        ``[top, bottom, left, right]`` pixels, ``None`` for all of it) and, with ``report``,
        ``faithfulness`` (per method: the verdict, deletion and insertion areas against random,
        border and outside-body shares and warnings; see :func:`xaixray.metrics.faithfulness`)
        and ``report`` = ``{"json": ..., "html": ...}``, the text of the report.json and
        report.html files ``xaixray explain`` writes for this image.

        Raises
        ------
        ServiceBusy
            When slow methods are asked for and no place is free, or they time out.
        """
        order = list(self.methods if methods is None else methods)
        result = self._run(upload, order, report)
        content = report_dict(result)
        body = self._prediction(result.probabilities)
        with self._drawing:
            pngs = {m: figure_to_png(plot_overlay(result, m)) for m in result.explanations}
            figure = figure_to_png(plot_explanations(result)) if report else None
            curves = plot_faithfulness(result) if report and result.faithfulness else None
            curves_png = figure_to_png(curves) if curves is not None else None
        body["explanations"] = {
            m: {"png": base64.b64encode(pngs[m]).decode("ascii"), "title": METHODS[m].title,
                **content["methods"][m]}
            for m in order if m in result.explanations}
        body["errors"] = content["errors"]
        body["image"] = {k: content["image"][k] for k in ("height", "width", "model_box")}
        body["agreement"] = content["agreement"]
        if report:  # per method: verdict, deletion/insertion areas against random, shares
            body["faithfulness"] = {
                m: {k: v for k, v in f.items() if k != "curves"}
                for m, f in (content.get("faithfulness") or {}).get("methods", {}).items()}
        if report:
            body["report"] = {"json": to_json(content),
                              "html": render_report_html(content, figure, curves_png)}
        return body

    def close(self) -> None:
        """Stop the worker pool (running explanations finish first)."""
        self._pool.shutdown(wait=True)

    # ------------------------------------------------------------------ helpers
    def _prediction(self, proba: np.ndarray) -> dict[str, Any]:
        clf = self.classifier
        index = int(clf.decide(np.asarray(proba)[None])[0])
        return {"prediction": clf.class_names[index],
                "probabilities": {c: float(p) for c, p in zip(clf.class_names, proba)},
                "threshold": float(clf.threshold),
                "model": clf.name,
                "prediction_set": set_record(proba, clf.info, clf.class_names)}

    def _run(self, upload: Upload, order: list[str], report: bool = False) -> ExplanationSet:
        clf = self.classifier
        prepared = replace(PreparedImage.load(clf, upload.image), source=upload.name)
        chosen = {m: self.explainers[m] for m in order if m in self.explainers}
        errors = {m: self.unavailable[m] for m in order if m in self.unavailable}

        def job() -> ExplanationSet:
            result = explain_image(clf, prepared, chosen, errors, order=order)
            if report:  # the same report as `xaixray explain`, faithfulness section included
                result.faithfulness = faithfulness(clf, result, seed=self.seed)
            return result

        if all(m in FAST_METHODS for m in chosen):
            return job()
        return self._in_pool(job)

    def _in_pool(self, job: Callable[[], ExplanationSet]) -> ExplanationSet:
        if not self._places.acquire(blocking=False):
            raise ServiceBusy(f"the server is busy: {self.workers + self.queue} slow "
                              "requests are running or waiting; try again in a minute")
        try:
            future = self._pool.submit(job)
        except RuntimeError:  # the pool was shut down
            self._places.release()
            raise ServiceBusy("the server is shutting down") from None
        future.add_done_callback(lambda _f: self._places.release())
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            raise ServiceBusy(f"the explanation took longer than {self.timeout:g} s; try "
                              "again later or with fewer methods") from None


__all__ = ["ExplainService", "FAST_METHODS", "ServiceBusy", "Upload", "decode_upload",
           "display_name"]
