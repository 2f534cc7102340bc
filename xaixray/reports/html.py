"""Self-contained HTML: one page per image (figure embedded as base64 PNG) and an index."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from ..imaging import display_name
from ..labels import positive_index
from ..metrics.summary import passed_line

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;
max-width:1400px;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.4em;margin-bottom:.2em}h2{font-size:1.1em;margin-top:1.6em}
.sub{color:#555;margin-top:0}img.fig{max-width:100%;height:auto;border:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.err{color:#a00}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.6em 1em;
font-size:.92em}code{font-size:.92em}footer{color:#777;font-size:.85em;margin-top:2em}
"""

NOTE = (
    "<p><b>What these maps show, and what they do not.</b> Each map is a post-hoc estimate of "
    "which parts of <i>this</i> image changed <i>this</i> model's output. "
    "<b>Grad-CAM</b> weights the last convolutional feature map by the gradient of the class "
    "score: it is coarse (the resolution of that map, upsampled) and shows only evidence "
    "<i>for</i> the class. <b>LIME</b> hides random sets of superpixels and fits a linear model "
    "to the model's answers; its weights depend on the segmentation, the number of samples and "
    "the seed, and R&sup2; says how well the linear model fits. <b>SHAP</b> (partition) credits "
    "the change in probability when rectangles are blurred; the values add up to the prediction "
    "minus the prediction on a fully blurred image. <b>HiResCAM</b>, <b>Layer-CAM</b> and "
    "<b>Score-CAM</b> are Grad-CAM's relatives, as coarse as the layer they read. "
    "<b>Occlusion</b> and <b>RISE</b> hide patches or random masks and record how the score "
    "changes: their maps depend on the patch or mask size and on what hidden pixels become.</p>"
    "<p>None of these maps is a segmentation of disease, and none shows that the model is right. "
    "A model that relies on text markers, devices or image borders will be shown, faithfully, "
    "looking there; methods agreeing is not proof of clinical relevance. Probabilities come "
    "from one model and are not calibrated diagnoses. <b>Not for clinical use.</b></p>"
)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return escape(str(value))


def _params(params: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if v is not None}
    return ", ".join(f"{escape(str(k))}={_fmt(v)}" for k, v in shown.items()) or "–"


def _positive(model: Mapping[str, Any]) -> str:
    """The positive class of a report's model (reports written before it was saved: the
    default, found by name)."""
    names = [str(c) for c in model.get("class_names", [])]
    saved = model.get("positive_class")
    return str(saved) if saved in names else names[positive_index(names)]


def _decision(model: Mapping[str, Any]) -> str:
    """How the model's class was called: a threshold on the positive class, or the arg-max."""
    names = model.get("class_names", [])
    if len(names) > 2 and model.get("positive_class") not in names:
        return "Decision: the most probable class (arg-max over all classes)."
    return (f"Decision threshold on P({escape(_positive(model))}): "
            f"{_fmt(model.get('threshold'))}.")


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def render_report_html(report: Mapping[str, Any], figure_png: bytes | None,
                       faithfulness_png: bytes | None = None) -> str:
    """The per-image page for a :func:`~xaixray.reports.report_dict`, figures embedded.

    ``faithfulness_png``: the curves figure (:func:`xaixray.plots.plot_faithfulness`), shown in
    the "How faithful is each map?" section when the report has faithfulness numbers.
    """
    model, image = report["model"], report["image"]
    name = image.get("name") or display_name(str(image["source"]))
    parts = report_sections(report, figure_png, faithfulness_png)
    pre = model.get("preprocessing", {})
    parts.append(
        "<h2>Input</h2><table>"
        f"<tr><th>image</th><td>{image['width']}&times;{image['height']} px, "
        f"{image['channels']} channel(s)</td></tr>"
        f"<tr><th>model input</th><td>{_params(pre)}</td></tr>"
        f"<tr><th>output</th><td>{escape(str(model.get('output_kind')))}</td></tr></table>")
    parts.append(f"<h2>Reading these maps</h2><div class=\"note\">{NOTE}</div>")
    parts.append(f"<footer>xaixray {escape(str(report['xaixray_version']))} · "
                 f"{escape(str(report['created']))} · {_fmt(report.get('seconds'), 2)} s · "
                 f"data: <a href=\"report.json\">report.json</a></footer>")
    return _page(f"xaixray: {name}", "\n".join(parts))


def report_sections(report: Mapping[str, Any], figure_png: bytes | None,
                    faithfulness_png: bytes | None = None) -> list[str]:
    """The parts of a report page that describe the image's explanations, as HTML fragments:
    the title, the figure, the prediction and threshold, the methods, their agreement, how
    faithful each map is and the methods that did not run (the page and the notebook display
    share them)."""
    pred, model, image = report["prediction"], report["model"], report["image"]
    name = image.get("name") or display_name(str(image["source"]))
    parts = [f"<h1>{escape(name)}</h1>",
             f"<p class=\"sub\">Model <b>{escape(str(model['name']))}</b> predicts "
             f"<b>{escape(str(pred['class']))}</b> with probability "
             f"{_fmt(pred['probability'])}.</p>"]
    parts += [f"<div class=\"note guess\"><b>Input scaling guessed.</b> {escape(n)}</div>"
              for n in report.get("notices") or []]
    if figure_png:
        parts.append(_png(figure_png, "explanation figure"))
    rows = "".join(f"<tr><td>{escape(str(c))}</td><td class=\"num\">{_fmt(p)}</td></tr>"
                   for c, p in report["probabilities"].items())
    parts.append(f"<h2>Prediction</h2><table><tr><th>class</th><th>probability</th></tr>{rows}"
                 f"</table><p>{_decision(model)}</p>" + _set_paragraph(report))
    parts.append(_methods_table(report))
    parts.append(_agreement_table(report.get("agreement", [])))
    parts.append(_faithfulness_section(report.get("faithfulness"), faithfulness_png))
    if report.get("errors"):
        items = "".join(f"<li><b>{escape(m)}</b>: <span class=\"err\">{escape(msg)}</span></li>"
                        for m, msg in report["errors"].items())
        parts.append(f"<h2>Methods that did not run</h2><ul>{items}</ul>")
    return [p for p in parts if p]


def _methods_table(report: Mapping[str, Any]) -> str:
    if not report["methods"]:
        return ""
    head = ("<tr><th>method</th><th>explains</th><th>P(class)</th><th>peak (row, col)</th>"
            "<th>area with half the positive attribution</th><th>seconds</th><th>seed</th>"
            "<th>parameters</th></tr>")
    rows = []
    for m, d in report["methods"].items():
        s = d["summary"]
        peak = f"({s['peak'][0]}, {s['peak'][1]})" if s.get("peak") else "–"
        half = f"{100 * s['half_mass_area']:.1f}%" if s.get("half_mass_area") is not None else "–"
        details = {k: v for k, v in d.get("details", {}).items() if k in ("r2", "flat")}
        rows.append(f"<tr><td>{escape(m)}</td><td>{escape(str(d['target_name']))}</td>"
                    f"<td class=\"num\">{_fmt(d['score'])}</td><td>{peak}</td>"
                    f"<td class=\"num\">{half}</td><td class=\"num\">{_fmt(d['seconds'], 2)}</td>"
                    f"<td>{_fmt(d['seed'])}</td>"
                    f"<td>{_params({**d['params'], **details})}</td></tr>")
    return f"<h2>Methods</h2><table>{head}{''.join(rows)}</table>"


MATRIX_FROM = 5
"""With this many methods or more the agreement is a method-by-method matrix, not a list."""


def _agreement_table(pairs: Iterable[Mapping[str, Any]]) -> str:
    pairs = list(pairs)
    if not pairs:
        return ""
    methods = list(dict.fromkeys(m for p in pairs for m in p["methods"]))
    if len(methods) >= MATRIX_FROM:
        return _agreement_matrix(pairs, methods)
    rows = "".join(f"<tr><td>{escape(' vs '.join(p['methods']))}</td>"
                   f"<td class=\"num\">{_fmt(p['spearman'])}</td>"
                   f"<td class=\"num\">{_fmt(p['top_overlap'])}</td></tr>" for p in pairs)
    return ("<h2>Agreement between methods</h2><table><tr><th>pair</th>"
            "<th>Spearman rank correlation</th><th>top-20% overlap (chance 0.2)</th></tr>"
            f"{rows}</table>")


def _agreement_matrix(pairs: list[Mapping[str, Any]], methods: list[str]) -> str:
    """Above the diagonal the Spearman rank correlation, below it the top-20% overlap."""
    value = {}
    for p in pairs:
        a, b = p["methods"]
        value[a, b] = value[b, a] = p
    head = "".join(f"<th>{escape(_method_title(m))}</th>" for m in methods)
    rows = []
    for i, a in enumerate(methods):
        cells = []
        for j, b in enumerate(methods):
            p = value.get((a, b))
            if i == j or p is None:
                cells.append("<td class=\"num\">–</td>")
            else:
                cells.append(f"<td class=\"num\">{_fmt(p['spearman' if j > i else 'top_overlap'])}"
                             "</td>")
        rows.append(f"<tr><th>{escape(_method_title(a))}</th>{''.join(cells)}</tr>")
    return ("<h2>Agreement between methods</h2><p>Above the diagonal: Spearman rank "
            "correlation of the two maps; below it: overlap of their top 20% (chance 0.2)."
            f"</p><table><tr><th></th>{head}</tr>{''.join(rows)}</table>")


def _png(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f"<img class=\"fig\" alt=\"{escape(alt)}\" src=\"data:image/png;base64,{encoded}\">"


def _faithfulness_section(faith: Mapping[str, Any] | None, png: bytes | None) -> str:
    if not faith or not faith.get("methods"):
        return ""
    settings = faith.get("settings", {})
    unit = "log-odds" if settings.get("score") == "logit" else "probability"
    grid = settings.get("grid")
    parts = [
        "<h2>How faithful is each map?</h2>",
        "<p>A map that explains the model ranks the parts of the image the model depends on "
        "first. <b>Deletion</b> blurs the parts a map ranks highest first and follows the "
        "model's score for the explained class: it should fall sooner than when the same parts "
        "are blurred in random order (a <i>smaller</i> area under the curve). <b>Insertion</b> "
        "starts from the blurred image and puts the highest-ranked parts back first: the score "
        "should rise sooner than in random order (a <i>larger</i> area). "
        f"Scores are {unit}; the image is cut into "
        f"{f'{grid}&times;{grid} cells' if grid else 'pixels'}, removed in "
        f"{settings.get('steps')} steps; random is the mean of {settings.get('n_random')} "
        "random orders. The <b>border</b> and <b>outside-body</b> shares say how much of a "
        "map's positive weight lies in the outer 8% of the image and outside the body; an even "
        "map scores the area given in brackets.</p>",
    ]
    head = ("<tr><th>method</th><th>deletion area: map / random</th>"
            "<th>insertion area: map / random</th><th>verdict</th>"
            "<th>border share (area)</th><th>outside-body share (area)</th></tr>")
    rows, warnings = [], []
    for m, d in faith["methods"].items():
        cls = "" if d.get("faithful") else " class=\"err\""
        rows.append(
            f"<tr><td>{escape(m)}</td>"
            f"<td class=\"num\">{_fmt(d.get('deletion_auc'), 2)} / "
            f"{_fmt(d.get('deletion_auc_random'), 2)}</td>"
            f"<td class=\"num\">{_fmt(d.get('insertion_auc'), 2)} / "
            f"{_fmt(d.get('insertion_auc_random'), 2)}</td>"
            f"<td{cls}>{escape(str(d.get('verdict', '')))}</td>"
            f"<td class=\"num\">{_share(d.get('border_share'))} "
            f"({_share(d.get('border_area'))})</td>"
            f"<td class=\"num\">{_share(d.get('outside_body_share'))} "
            f"({_share(d.get('outside_body_area'))})</td></tr>")
        warnings += d.get("warnings", [])
    parts.append(f"<p><b>{escape(passed_line(faith) or '')}</b></p>")
    parts.append(f"<table>{head}{''.join(rows)}</table>")
    lines = [*faith.get("notes", []), *warnings]
    if lines:
        items = "".join(f"<li>{escape(str(w))}</li>" for w in lines)
        parts.append(f"<div class=\"note\"><ul>{items}</ul></div>")
    if png:
        parts.append(_png(png, "deletion and insertion curves"))
    parts.append("<p class=\"sub\">Better than random is necessary, not sufficient: a "
                 "faithful map shows what <i>this model</i> uses, which may be a shortcut. "
                 "See docs/faithfulness.md in xaixray.</p>")
    return "\n".join(parts)


def _share(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f}%"


def _method_title(method: str) -> str:
    from ..explainers import METHODS

    cls = METHODS.get(method)
    return cls.title if cls is not None else method


def _set_paragraph(report: Mapping[str, Any]) -> str:
    """What the conformal prediction set says, or nothing for a model without one."""
    cset = report.get("prediction_set")
    if not cset:
        return ""
    alpha = cset.get("alpha")
    cover = f"{1 - alpha:.0%}" if isinstance(alpha, (int, float)) else "1 - alpha"
    classes = ", ".join(cset["classes"])
    return (f"<p class=\"prediction-set\">Conformal prediction set: <b>{{{escape(classes)}}}"
            f"</b> (<b>{escape(str(cset['label']))}</b>): the sets hold the true class of at "
            f"least {cover} of each class's images like the calibration set's.</p>")


def render_index_html(entries: Iterable[Mapping[str, Any]], failures: Iterable[str],
                      title: str = "xaixray explanations") -> str:
    """An index page linking per-image reports.

    ``entries``: dicts with ``link`` (relative path of report.html), ``source`` (shown as its
    file name), ``prediction``, ``prediction_set`` (the conformal set's label, optional),
    ``probability``, ``model``, ``errors`` ({method: message}) and optionally ``faithful``
    ({method: whether the map beat random on deletion and insertion}).
    """
    entries = list(entries)
    rows = []
    for e in entries:
        errs = "; ".join(f"{m}: {msg}" for m, msg in e.get("errors", {}).items())
        faithful = ", ".join(f"{_method_title(m)} {'yes' if ok else 'no'}"
                             for m, ok in (e.get("faithful") or {}).items()) or "–"
        rows.append(f"<tr><td><a href=\"{escape(str(e['link']), quote=True)}\">"
                    f"{escape(display_name(str(e['source'])))}</a></td>"
                    f"<td>{escape(str(e['prediction']))}</td>"
                    f"<td>{escape(str(e.get('prediction_set') or '–'))}</td>"
                    f"<td class=\"num\">{_fmt(e['probability'])}</td>"
                    f"<td>{escape(faithful)}</td>"
                    f"<td class=\"err\">{escape(errs)}</td></tr>")
    body = [f"<h1>{escape(title)}</h1>"]
    model = next((e.get("model") for e in entries if e.get("model")), None)
    if model:
        body.append(f"<p class=\"sub\">Model <b>{escape(str(model))}</b></p>")
    body.append("<table><tr><th>image</th><th>prediction</th>"
                "<th title=\"conformal prediction set: a class, or uncertain\">set</th>"
                "<th>P(predicted class)</th>"
                "<th title=\"better than random on deletion and insertion (see each report)\">"
                "map faithful?</th>"
                f"<th>methods that did not run</th></tr>{''.join(rows)}</table>")
    failures = list(failures)
    if failures:
        items = "".join(f"<li class=\"err\">{escape(f)}</li>" for f in failures)
        body.append(f"<h2>Images that could not be explained</h2><ul>{items}</ul>")
    body.append(f"<div class=\"note\">{NOTE}</div>")
    return _page(title, "\n".join(body))
