"""The content of a per-image report, as a JSON-ready dict (also what the HTML shows)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any

import numpy as np

from ..explainers import Explanation, ExplanationSet
from ..files import json_ready
from ..imaging import anonymous_name, display_name
from ..prediction_sets import set_record
from ..preprocessing_inference import scaling_notice
from ..version import __version__

REPORT_FORMAT = 1
FILES = {"figure": "figure.png", "json": "report.json", "html": "report.html"}

_SHORT = 16
"""Extras that are scalars, or lists of at most this many scalars or short lists, go into the
JSON as ``details`` (arrays and dicts, such as maps, superpixels and their weights, stay out),
whatever the method: a new method's ``completeness_gap`` or ``feature_shapes`` appear there."""


def report_dict(result: ExplanationSet) -> dict[str, Any]:
    """Everything a report says about one image, JSON-serialisable.

    Keys: ``xaixray_version``, ``report_format``, ``created``, ``image`` (source: the input as
    given, a full path for files; name: what figures and pages show; height, width, channels;
    model_box: the part the model sees, [top, bottom, left, right], null for all of it),
    ``model`` (name, preprocessing, class_names, positive_class, threshold, output_kind,
    provenance: how each preprocessing field was found, read/guessed/stated, info),
    ``notices`` (one sentence per guess that matters, such as the input scaling),
    ``prediction`` (class, index, probability), ``prediction_set`` (the conformal set:
    classes, label -- a class, "uncertain" or none -- and alpha; ``null`` for a model without
    conformal quantiles), ``probabilities`` ({class: p}), ``methods``
    ({method: target, target_name, score, signed, params, seed, seconds, summary, details}),
    ``agreement`` (list of {methods, spearman, top_overlap}), ``faithfulness`` (how faithful
    each map is, :func:`xaixray.metrics.faithfulness`; ``null`` when not measured), ``errors``
    ({method: message}), ``seconds`` and ``files``.
    """
    h, w = result.image.shape[:2]
    methods = {m: _method_dict(result.explanations[m])
               for m in result.methods if m in result.explanations}
    return json_ready({
        "xaixray_version": __version__,
        "report_format": REPORT_FORMAT,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "image": {"source": result.source, "name": display_name(result.source),
                  "height": h, "width": w,
                  "channels": 1 if result.image.ndim == 2 else int(result.image.shape[2]),
                  # the part the model sees, [top, bottom, left, right] px; null: all of it
                  "model_box": None if result.box is None else [int(v) for v in result.box]},
        "model": result.model,
        # what xaixray could not read from the model file and guessed (empty: nothing)
        "notices": [n for n in [scaling_notice(result.model or {})] if n],
        "prediction": {"class": result.prediction_name, "index": result.prediction,
                       "probability": result.probability},
        "prediction_set": set_record(result.probabilities, (result.model or {}).get("info"),
                                     result.class_names),
        "probabilities": dict(zip(result.class_names, map(float, result.probabilities))),
        "methods": methods,
        "agreement": result.agreement(),
        "faithfulness": result.faithfulness,
        "errors": dict(result.errors),
        "seconds": result.seconds,
        "files": dict(FILES),
    })


def anonymized(result: ExplanationSet) -> ExplanationSet:
    """``result`` with its source replaced by :func:`~xaixray.imaging.anonymous_name` of its
    pixels, in the set and in every explanation: nothing written from it names the file or
    its folders."""
    name = anonymous_name(result.image)
    return dataclasses.replace(
        result, source=name,
        explanations={m: dataclasses.replace(e, source=name)
                      for m, e in result.explanations.items()})


def _method_dict(e: Explanation) -> dict[str, Any]:
    return {
        "target": e.target,
        "target_name": e.target_name,
        "score": e.score,
        "signed": e.signed,
        "params": e.params,
        "seed": e.seed,
        "seconds": e.seconds,
        "summary": e.summary(),
        "details": {k: v for k, v in e.extras.items() if _is_detail(v)},
    }


def _is_detail(value: Any, depth: int = 0) -> bool:
    """Whether an extra is small and plain enough for report.json (see :data:`_SHORT`)."""
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return not isinstance(value, str) or len(value) <= 200
    if isinstance(value, (list, tuple)) and depth < 2 and len(value) <= _SHORT:
        return all(_is_detail(v, depth + 1) for v in value)
    return False
