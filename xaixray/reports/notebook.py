"""Rich display in notebooks: results as HTML fragments with their figures inline.

Importing this module registers the renderers with :mod:`xaixray.display`, which the result
classes' ``_repr_html_`` and ``_repr_png_`` consult (``xaixray/__init__`` imports it on the
first display). The fragments reuse the report's HTML parts (:mod:`.html`), embed their figures
as PNG data URIs at a modest resolution, carry their own scoped style and write no files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from .. import display
from ..classifier import Classifier
from ..evaluation import Evaluation
from ..explainers import Explanation, ExplanationSet
from ..imaging import display_name
from ..plots import (
    figure_to_png,
    plot_confusion_matrix,
    plot_explanation,
    plot_explanations,
    plot_faithfulness,
    plot_roc,
)
from .content import report_dict
from .html import _fmt, _params, _png, report_sections

DPI = 72
"""Resolution of inline figures: a four-panel explanation figure is about 950 px wide."""
MAX_SIDE = 384
"""X-rays are downsampled to this for display only."""

STYLE = (
    ".xaixray{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;"
    "line-height:1.4}.xaixray h1{font-size:1.2em;margin:.2em 0}.xaixray h2{font-size:1.02em;"
    "margin:1em 0 .3em}.xaixray .sub{color:#555;margin-top:0}.xaixray img.fig{max-width:100%;"
    "height:auto;border:1px solid #ddd;margin:.2em .4em .2em 0}.xaixray table{"
    "border-collapse:collapse;margin:.4em 0;font-size:.9em;display:block;overflow-x:auto;"
    "max-width:100%}.xaixray th,.xaixray td{"
    "border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}.xaixray th{"
    "background:#f3f3f3}.xaixray td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".xaixray .err{color:#a00}.xaixray .note{background:#fff8e1;border-left:4px solid #f0b400;"
    "padding:.4em .8em;font-size:.9em}")


def fragment(parts: Iterable[str]) -> str:
    """HTML parts wrapped in one ``<div class="xaixray">`` with the scoped style."""
    body = "\n".join(p for p in parts if p)
    return f"<div class=\"xaixray\"><style>{STYLE}</style>\n{body}\n</div>"


def inline_png(fig: Any) -> bytes:
    """``fig`` as a small PNG: :data:`DPI`, 256 colours (Pillow's quantiser, dithered), about a
    third of the bytes of a full-colour PNG, so that notebooks that keep outputs stay small."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(figure_to_png(fig, dpi=DPI))) as im:
        buf = io.BytesIO()
        im.convert("RGB").quantize(256).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def figure_img(fig: Any, alt: str) -> str:
    """An ``<img>`` holding ``fig`` as a PNG data URI (:func:`inline_png`; empty for ``None``)."""
    return "" if fig is None else _png(inline_png(fig), alt)


def _table(rows: Iterable[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>"
                               for k, v in rows) + "</table>"


# ---------------------------------------------------------------------- explanations
def explanation_set_html(result: ExplanationSet) -> str:
    """The side-by-side figure, the prediction and threshold, the methods, their agreement and
    how faithful each map is: the report page's parts, without its files."""
    report = report_dict(result)
    figure = inline_png(plot_explanations(result, max_side=MAX_SIDE, dpi=DPI))
    curves = plot_faithfulness(result, dpi=DPI) if result.faithfulness else None
    curves_png = inline_png(curves) if curves is not None else None
    return fragment([*report_sections(report, figure, curves_png),
                     "<p class=\"sub\">Post-hoc estimates of what this model used; not a "
                     "segmentation of disease. Not for clinical use.</p>"])


def explanation_png(e: Explanation) -> bytes | None:
    """One map over its X-ray, as PNG (``None`` without an image)."""
    fig = plot_explanation(e, max_side=MAX_SIDE, dpi=DPI)
    return None if fig is None else inline_png(fig)


def explanation_html(e: Explanation) -> str:
    """One map over its X-ray with the explained class, its probability and the map's summary."""
    s = e.summary()
    peak = f"({s['peak'][0]}, {s['peak'][1]})" if s.get("peak") else "–"
    half = s.get("half_mass_area")
    png = explanation_png(e)
    return fragment([
        f"<h2>{escape(e.method)} → {escape(e.target_name)}</h2>",
        _png(png, f"{e.method} map") if png else "",
        _table([("image", escape(display_name(e.source) if e.source else "–")),
                (f"P({e.target_name})", _fmt(float(e.score))),
                ("peak (row, col)", peak),
                ("area with half the positive attribution",
                 "–" if half is None else f"{100 * half:.1f}%"),
                ("seconds", _fmt(float(e.seconds), 2)), ("seed", _fmt(e.seed)),
                ("parameters", _params(e.params))])])


# ---------------------------------------------------------------------- evaluation
def _rate(m: Mapping[str, Any], key: str) -> str:
    value = m.get(key)
    text = _fmt(value) if value is not None else "n/a"
    iv = (m.get("intervals") or {}).get(key)
    return text + (f" <small>(95% CI {iv['low']:.3f}–{iv['high']:.3f})</small>" if iv else "")


def evaluation_html(ev: Evaluation) -> str:
    """The headline metrics with their bootstrap intervals, the confusion matrix and the ROC."""
    m = ev.metrics
    if "per_class" in m:  # more than two classes: per-class rows, no threshold or ROC
        return _multiclass_html(ev)
    figures = [figure_img(plot_confusion_matrix(m), "confusion matrix")]
    if ev.both_classes:
        figures.append(figure_img(plot_roc(ev.y_true, ev.p_positive, m["threshold"],
                                           positive=ev.positive), "ROC curve"))
    rows = [("images", str(m["n"])),
            ("threshold", f"{_fmt(m['threshold'])} on P({escape(str(m['positive_class']))})"),
            ("accuracy", _rate(m, "accuracy")),
            ("ROC AUC", "n/a (one class)" if m.get("roc_auc") is None else _fmt(m["roc_auc"])),
            ("sensitivity", _rate(m, "sensitivity")), ("specificity", _rate(m, "specificity")),
            ("precision", _fmt(m["precision"])), ("F1", _fmt(m["f1"]))]
    if m.get("ece") is not None:
        rows.append(("expected calibration error", _fmt(m["ece"])))
    if ev.failures:
        rows.append(("unreadable images", f"<span class=\"err\">{len(ev.failures)}</span>"))
    return fragment(["<h2>Evaluation</h2>", _table(rows), "".join(figures)])


def _multiclass_html(ev: Evaluation) -> str:
    m = ev.metrics
    rows = [("images", str(m["n"])), ("accuracy", _fmt(m["accuracy"])),
            ("balanced accuracy", _fmt(m.get("balanced_accuracy"))),
            ("macro one-vs-rest ROC AUC", _fmt(m.get("macro_roc_auc")))]
    rows += [(f"{escape(name)} (n={c['n']})",
              f"precision {_fmt(c['precision'])}, recall {_fmt(c['recall'])}, "
              f"F1 {_fmt(c['f1'])}, one-vs-rest AUC {_fmt(c['roc_auc'])}")
             for name, c in m["per_class"].items()]
    if ev.failures:
        rows.append(("unreadable images", f"<span class=\"err\">{len(ev.failures)}</span>"))
    return fragment(["<h2>Evaluation</h2>", _table(rows),
                     figure_img(plot_confusion_matrix(m), "confusion matrix")])


# ---------------------------------------------------------------------- classifier
def classifier_html(clf: Classifier) -> str:
    """What a classifier is (input, classes, threshold); after calibration, the rule, the set,
    the metrics at the new threshold and their confusion matrix."""
    pre = clf.preprocessing
    rows = [("input", escape(str(pre.model_input_shape))),
            ("classes", escape(", ".join(clf.class_names))
             + f" (positive: {escape(clf.positive_class)})"),
            ("output", escape(str(clf.output_kind))),
            ("threshold", _fmt(float(clf.threshold))),
            ("temperature", _fmt(float(clf.temperature))),
            ("preprocessing", _params(pre.to_dict()))]
    parts = [f"<h2>Classifier <code>{escape(clf.name)}</code></h2>", _table(rows)]
    c = clf.info.get("calibration")
    if c:
        m = c["metrics"]
        counts = ", ".join(f"{n} {escape(str(k))}" for k, n in c["counts"].items())
        cal = [("rule", escape(str(c["rule"]))),
               ("set", f"{c['n']} images ({counts}) from {escape(str(c['data']))}"),
               ("threshold", f"{_fmt(c['previous_threshold'])} → {_fmt(m['threshold'])}"),
               ("temperature", _fmt(float(c["temperature"]))),
               ("ECE", f"{_fmt(c['ece_before'])} → {_fmt(c['ece_after'])}"),
               ("ROC AUC", "n/a" if m.get("roc_auc") is None else _fmt(m["roc_auc"]))]
        cal += [(k, _rate({**m, "intervals": c.get("intervals")}, k))
                for k in ("sensitivity", "specificity", "accuracy")]
        matrix = {**m, "class_names": m.get("class_names") or _calibration_sides(clf)}
        parts += ["<h2>Calibration (on this set; optimistic for it)</h2>", _table(cal),
                  figure_img(plot_confusion_matrix(matrix, "At the new threshold"),
                             "confusion matrix at the calibrated threshold")]
    return fragment(parts)


def _calibration_sides(clf: Classifier) -> list[str]:
    """The two sides of a calibration's confusion matrix saved before it named them: the
    classes, or one-vs-rest the other classes joined and the positive class."""
    names, pos = list(clf.class_names), clf.positive_class
    if len(names) == 2:
        return names
    return ["/".join(n for n in names if n != pos), pos]


display.register(ExplanationSet, html=explanation_set_html)
display.register(Explanation, html=explanation_html, png=explanation_png)
display.register(Evaluation, html=evaluation_html)
display.register(Classifier, html=classifier_html)
