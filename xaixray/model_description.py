"""What xaixray will do with a model, said before it does it: :func:`describe`.

Behind :meth:`xaixray.Classifier.describe` and ``xaixray inspect``. It reads only what a
classifier already knows (its preprocessing and how each field was found, its output, classes,
positive class and threshold) and the Keras archive the model came from (the Keras version that
saved it, and whether safe mode loads it). It takes the classifier as it is, without importing
its module, so that the classifier can call it. The layer Grad-CAM will use, and which methods
can run, belong to the explainers: :func:`xaixray.explainers.describe_methods` adds them.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from .errors import one_line
from .preprocessing import FIELDS, SCALINGS

OUTPUT_KINDS = {
    ("sigmoid", False): ("probability", "one sigmoid unit: the probability of {second}"),
    ("sigmoid", True): ("logit", "one linear unit: the log-odds of {second}"),
    ("softmax", False): ("softmax", "a softmax: one probability per class"),
    ("softmax", True): ("logit", "one logit per class; xaixray applies the softmax"),
}
"""``(output_kind, from_logits)`` -> (kind shown, what it means)."""


def describe(classifier: Any) -> dict[str, Any]:
    """What xaixray will do with ``classifier``'s model, as a JSON-ready dict.

    Keys: ``name``; ``file`` (the path it was loaded from, ``null`` if built in Python);
    ``input``: one entry per preprocessing field (``input_size``, ``channels``, ``layout``,
    ``scaling``, ``equalize``, ``crop``), each ``{"value", "how", "why"}`` where ``how`` is
    ``"read"`` (from the file), ``"guessed"`` (the file cannot say) or ``"stated"`` (by the
    user); ``model_input_shape``; ``output`` (``kind``: probability, logit or softmax;
    ``meaning``; ``units``; ``temperature``); ``classes`` (names in output order, ``named``:
    whether they are more than ``class_0..``); ``decision`` (``positive_class``, ``threshold``
    and the ``rule``: threshold on the positive class for two classes, arg-max for more);
    ``keras`` (``saved_with``, ``date_saved``, ``installed``, ``safe_mode``: true when safe
    mode loads the file, false when it refuses it, null when unknown, with ``safe_mode_why``);
    ``guessed`` (the fields that were guessed, and the flag that states each).
    """
    pre = classifier.preprocessing
    values = pre.to_dict()
    provenance = getattr(classifier, "provenance", {}) or {}
    reasons = getattr(classifier, "reasons", {}) or {}
    fields = {f: {"value": values[f], "how": provenance.get(f, "stated"),
                  "why": reasons.get(f, "")} for f in FIELDS}
    kind, meaning = OUTPUT_KINDS[(classifier.output_kind, bool(classifier.from_logits))]
    names = list(classifier.class_names)
    named = len(names) == 2 or bool(getattr(classifier, "one_vs_rest", False))
    source = getattr(classifier, "source", {}) or {}
    path = source.get("path")
    return {
        "name": classifier.name,
        "file": None if path is None else str(path),
        "input": fields,
        "model_input_shape": list(pre.model_input_shape),
        "scaling_means": SCALINGS[pre.scaling],
        "output": {"kind": kind, "meaning": meaning.format(second=names[-1]),
                   "units": 1 if classifier.output_kind == "sigmoid" else len(names),
                   "temperature": classifier.temperature},
        "classes": {"names": names,
                    "named": names != [f"class_{i}" for i in range(len(names))]},
        "decision": {"positive_class": classifier.positive_class if named else None,
                     "threshold": classifier.threshold if named else None,
                     "rule": classifier.decision_rule()},
        "keras": keras_facts(path, source.get("safe_mode")),
        "guessed": {f: "--" + f.replace("_", "-") for f in FIELDS
                    if fields[f]["how"] == "guessed"},
    }


def keras_facts(path: str | None, loaded_safely: bool | None) -> dict[str, Any]:
    """The Keras version that saved ``path``, the one installed, and whether safe mode loads it.

    ``loaded_safely``: whether the file was loaded with safe mode on (then it loads); when it
    was loaded with safe mode off, the file is loaded again with it on to find out.
    """
    import keras

    facts: dict[str, Any] = {"saved_with": None, "date_saved": None,
                             "installed": keras.__version__, "safe_mode": None,
                             "safe_mode_why": "built in Python, not loaded from a file"}
    if path is None:
        return facts
    facts.update(saved_metadata(path))
    if loaded_safely:
        facts.update(safe_mode=True, safe_mode_why="loaded with Keras safe mode on")
        return facts
    try:
        keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any refusal is the answer
        facts.update(safe_mode=False, safe_mode_why=one_line(exc, 160))
    else:
        facts.update(safe_mode=True, safe_mode_why="loads with Keras safe mode on")
    return facts


def saved_metadata(path: str) -> dict[str, Any]:
    """``saved_with`` and ``date_saved`` from a ``.keras`` archive's ``metadata.json``."""
    try:
        with zipfile.ZipFile(Path(path)) as zf:
            meta = json.loads(zf.read("metadata.json"))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return {}  # a legacy HDF5 file, or an archive without it: unknown
    return {"saved_with": meta.get("keras_version"), "date_saved": meta.get("date_saved")}


def describe_text(d: dict[str, Any]) -> str:
    """:func:`describe`'s dict (with :func:`~xaixray.explainers.describe_methods`' ``explain``
    when present) as lines for a terminal."""
    f = d["input"]
    h, w = f["input_size"]["value"]
    rows = [("model", d["name"] + (f"  ({d['file']})" if d["file"] else ""))]

    def field(label: str, key: str, value: str) -> None:
        how, why = f[key]["how"], f[key]["why"]
        rows.append((label, f"{value}  [{how}{': ' + why if why else ''}]"))

    field("input size", "input_size", f"{h}x{w}")
    field("channels", "channels", str(f["channels"]["value"]))
    field("layout", "layout", str(f["layout"]["value"]))
    field("scaling", "scaling", f"{f['scaling']['value']} ({d['scaling_means']})")
    field("equalize", "equalize", str(f["equalize"]["value"]))
    field("crop", "crop", str(f["crop"]["value"]))
    out = d["output"]
    rows.append(("output", f"{out['kind']}: {out['meaning']}"
                 + (f", temperature {out['temperature']:g}" if out["temperature"] != 1 else "")))
    names = d["classes"]["names"]
    rows.append(("classes", ", ".join(names) + ("" if d["classes"]["named"] else
                                                "  (unnamed: name them with --class-names)")))
    rows.append(("decision", d["decision"]["rule"]))
    explain = d.get("explain")
    if explain:
        layer = explain.get("gradcam_layer")
        shape = "x".join(str(v) for v in ((layer or {}).get("shape") or [None])[1:])
        rows.append(("grad-cam layer", f"{layer['name']} ({shape} feature map)" if layer else
                     "none (the model has no convolution)"))
        can = [m for m, why in explain["methods"].items() if why is None]
        cannot = [f"{m} ({why})" for m, why in explain["methods"].items() if why is not None]
        rows.append(("methods", ", ".join(can) or "none"))
        rows += [("cannot run", c) for c in cannot]
    k = d["keras"]
    safe = {True: "loads", False: "refuses it", None: "unknown"}[k["safe_mode"]]
    rows.append(("keras", f"saved with {k['saved_with'] or 'unknown'}, installed "
                 f"{k['installed']}; safe mode {safe} ({k['safe_mode_why']})"))
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {text}" for label, text in rows]
    if d["guessed"]:
        flags = ", ".join(d["guessed"].values())
        lines.append(f"guessed fields: {', '.join(d['guessed'])}; if the model expects "
                     f"otherwise, state them with {flags}")
    return "\n".join(lines)


__all__ = ["describe", "describe_text", "keras_facts", "saved_metadata"]
