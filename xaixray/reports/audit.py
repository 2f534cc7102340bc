"""Audit reports: the content of ``audit.json`` as Markdown and as a self-contained HTML page."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from .html import _page

COLUMNS = (  # (metric, header, better when)
    ("deletion_auc", "deletion AUC", "lower than random"),
    ("insertion_auc", "insertion AUC", "higher than random"),
    ("randomization_spearman", "Spearman after randomisation", "below 0.3"),
    ("pointing_game", "pointing game", "high (needs masks)"),
    ("border_share", "border share", "low"),
    ("outside_body_share", "outside-body share", "low"),
)

READING = (
    "Deletion removes the pixels a map ranks highest first (blurring them) and records the "
    "class probability; insertion reveals them first on a blurred image. A faithful map makes "
    "deletion fall faster (lower area) and insertion rise faster (higher area) than random "
    "rankings do. After the model's weights are randomised from the output layer down, a map "
    "that still looks the same (Spearman rank correlation ≥ 0.3) does not depend on what the "
    "model learned. The pointing game is the share of images whose map peaks inside the lesion "
    "mask. Border and outside-body shares are the parts of the positive attribution that fall "
    "in the outer 8% of the image and outside the body: high values point to shortcuts "
    "(framing, markers, background). Intervals are bootstrap 95% intervals of the mean.")


RANK_COLUMNS = (("deletion_better", "deletion beats random"),
                ("insertion_better", "insertion beats random"), ("pointing_game", "pointing game"))
RANK_RULE = (
    "Ranking rule: a method whose maps survive randomised weights (|Spearman| ≥ 0.3) comes after "
    "every other; the rest are ordered by the mean of the shares of images on which deletion "
    "and insertion beat random and, where masks exist, the pointing game. A method is "
    "recommended when it is not failing the randomisation check and beats random on deletion "
    "and insertion for at least half of the images (docs/faithfulness.md).")


def ranking_table(ranking: list[Mapping[str, Any]]) -> str:
    """The ranking as a Markdown table, with the rule under it."""
    lines = ["| rank | method | score | " + " | ".join(h for _, h in RANK_COLUMNS)
             + " | randomisation | recommended |", "|---|---|---|" + "---|" * len(RANK_COLUMNS)
             + "---|---|"]
    for r in ranking:
        lines.append(f"| {r['rank']} | {r['method']} | {_num(r['score'], 2)} | "
                     + " | ".join(_num(r["components"].get(k), 2) for k, _ in RANK_COLUMNS)
                     + f" | {r['randomization'] or '–'} | {'yes' if r['recommended'] else 'no'} |")
    return "\n".join(lines) + "\n\n" + RANK_RULE


def _num(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _cell(summary: Mapping[str, Any], metric: str) -> str:
    value = summary.get(metric)
    if value is None:
        return "–"
    text = _num(value)
    if metric in ("deletion_auc", "insertion_auc"):
        text += f" (random {_num(summary.get(metric + '_random'))})"
    interval = summary.get("intervals", {}).get(metric)
    if interval:
        text += f" [{_num(interval[0])}, {_num(interval[1])}]"
    return text


def verdicts(summary: Mapping[str, Any]) -> list[str]:
    """Plain-language verdicts for one method's summary."""
    out = []
    for kind, better in (("deletion", "lower"), ("insertion", "higher")):
        ours, rand = summary.get(f"{kind}_auc"), summary.get(f"{kind}_auc_random")
        if ours is None or rand is None:
            continue
        ok = ours < rand if kind == "deletion" else ours > rand
        share = summary.get(f"{kind}_better")
        out.append(f"{kind}: {'better' if ok else 'not better'} than random on average "
                   f"({better} is better)"
                   + (f", better on {share:.0%} of images" if share is not None else ""))
    rho = summary.get("randomization_spearman")
    if rho is not None:
        out.append("randomisation: " + ("passes (the map changes when the model is randomised)"
                                         if abs(rho) < 0.3 else
                                         "FAILS (the map survives randomised weights)"))
    for key, word in (("border_share", "the border"), ("outside_body_share", "outside the body")):
        value = summary.get(key)
        if value is not None and value >= (0.5 if key == "border_share" else 0.2):
            out.append(f"shortcut warning: {value:.0%} of the positive attribution is in {word}")
    return out


def mask_line(masks: Mapping[str, Any] | None) -> str | None:
    """One line on the lesion masks of an audit's images, or ``None`` when it had none.

    ``"Masks: for 40 of 40 PNEUMONIA images."``; a class with masks for only some of its images
    is named, since the pointing game covers only those; orphan masks (no image beside them)
    are counted.
    """
    if not masks or not (masks.get("images_with_masks") or masks.get("orphans")):
        return None
    parts, partial = [], []
    for name, c in masks.get("by_class", {}).items():
        if c["masks"]:
            parts.append(f"for {c['masks']} of {c['images']} {name} images")
            if c["masks"] < c["images"]:
                partial.append(name)
    text = "Masks: " + (", ".join(parts) if parts else "none for the audited images")
    if partial:
        text += (f" (only some {' and '.join(partial)} images have one: the pointing game "
                 "covers those)")
    if masks.get("orphans"):
        text += f"; {len(masks['orphans'])} mask file(s) with no image beside them were ignored"
    return text + "."


def render_audit_markdown(audit: Mapping[str, Any]) -> str:
    """``audit.md``: a table per group (all, correct, incorrect) and the verdicts."""
    lines = [f"# Faithfulness audit: {audit['model']}", "",
             f"{audit['n_images']} images ({audit['counts']['correct']} predicted correctly, "
             f"{audit['counts']['incorrect']} incorrectly) from {audit['params'].get('data')}; "
             f"seed {audit['params'].get('seed')}.", ""]
    masks = mask_line(audit.get("masks"))
    if masks:
        lines += [masks, ""]
    lines += [READING, ""]
    if audit.get("recommendation"):
        lines += ["## Which method to trust", "", f"**{audit['recommendation']}**", "",
                  ranking_table(audit.get("ranking", [])), ""]
    groups = [("All images", audit["methods"])] + [
        (f"{g.capitalize()} predictions", audit["groups"][g]) for g in ("correct", "incorrect")]
    for title, summary in groups:
        lines += [f"## {title}", "",
                  "| method | n | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
                  "|---|---|" + "---|" * len(COLUMNS)]
        for m, s in summary.items():
            lines.append(f"| {m} | {s.get('n', 0)} | "
                         + " | ".join(_cell(s, k) for k, _, _ in COLUMNS) + " |")
        lines.append("")
    lines += ["## Verdicts", ""]
    for m, s in audit["methods"].items():
        lines += [f"- **{m}**: " + "; ".join(verdicts(s) or ["no numbers"])]
    if audit.get("failures"):
        lines += ["", "## Images that could not be audited", ""]
        lines += [f"- {f}" for f in audit["failures"]]
    return "\n".join(lines) + "\n"


def render_audit_html(audit: Mapping[str, Any]) -> str:
    """``audit.html``: the same content as a self-contained page."""
    parts = audit_sections(audit)
    parts.append(f"<footer>xaixray {escape(str(audit.get('xaixray_version')))} · data: "
                 "<a href=\"audit.json\">audit.json</a></footer>")
    return _page(f"xaixray audit: {audit['model']}", "\n".join(parts))


def audit_sections(audit: Mapping[str, Any], figure: str = "",
                   groups: tuple[str, ...] = ("correct", "incorrect")) -> list[str]:
    """The parts of the audit page as HTML fragments: the title, how to read it, ``figure``
    (an ``<img>``, placed after the reading note), a table per group and the verdicts."""
    parts = [f"<h1>Faithfulness audit: {escape(str(audit['model']))}</h1>",
             f"<p class=\"sub\">{audit['n_images']} images ({audit['counts']['correct']} "
             f"predicted correctly, {audit['counts']['incorrect']} incorrectly) from "
             f"{escape(str(audit['params'].get('data')))}; seed "
             f"{escape(str(audit['params'].get('seed')))}.</p>"]
    masks = mask_line(audit.get("masks"))
    if masks:
        parts.append(f"<p class=\"sub\">{escape(masks)}</p>")
    parts.append(f"<div class=\"note\"><p>{escape(READING)}</p></div>")
    if audit.get("recommendation"):
        rows = "".join(
            f"<tr><td class=\"num\">{r['rank']}</td><td>{escape(r['method'])}</td>"
            f"<td class=\"num\">{_num(r['score'], 2)}</td>"
            + "".join(f"<td class=\"num\">{_num(r['components'].get(k), 2)}</td>"
                      for k, _ in RANK_COLUMNS)
            + f"<td>{escape(str(r['randomization'] or '–'))}</td>"
              f"<td>{'yes' if r['recommended'] else 'no'}</td></tr>"
            for r in audit.get("ranking", []))
        heads = "".join(f"<th>{escape(h)}</th>" for _, h in RANK_COLUMNS)
        parts.append(f"<h2>Which method to trust</h2><p><b>{escape(audit['recommendation'])}"
                     f"</b></p><table><tr><th>rank</th><th>method</th><th>score</th>{heads}"
                     f"<th>randomisation</th><th>recommended</th></tr>{rows}</table>"
                     f"<p class=\"sub\">{escape(RANK_RULE)}</p>")
    if figure:
        parts.append(figure)
    head = "".join(f"<th>{escape(h)}<br><small>{escape(b)}</small></th>" for _, h, b in COLUMNS)
    tables = [("All images", audit["methods"])] + [
        (f"{g.capitalize()} predictions", audit["groups"][g]) for g in groups]
    for title, summary in tables:
        rows = "".join(
            f"<tr><td>{escape(m)}</td><td class=\"num\">{s.get('n', 0)}</td>"
            + "".join(f"<td class=\"num\">{escape(_cell(s, k))}</td>" for k, _, _ in COLUMNS)
            + "</tr>" for m, s in summary.items())
        parts.append(f"<h2>{escape(title)}</h2><table><tr><th>method</th><th>n</th>{head}</tr>"
                     f"{rows}</table>")
    items = "".join(f"<li><b>{escape(m)}</b>: {escape('; '.join(verdicts(s)) or 'no numbers')}"
                    "</li>" for m, s in audit["methods"].items())
    parts.append(f"<h2>Verdicts</h2><ul>{items}</ul>")
    if audit.get("failures"):
        items = "".join(f"<li class=\"err\">{escape(f)}</li>" for f in audit["failures"])
        parts.append(f"<h2>Images that could not be audited</h2><ul>{items}</ul>")
    return parts
