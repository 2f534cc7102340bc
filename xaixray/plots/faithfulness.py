"""The faithfulness figure: each map's deletion and insertion curves against random."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..explainers import METHODS, ExplanationSet

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

COLOURS = {"gradcam": "#d62728", "gradcam++": "#ff7f0e", "lime": "#2ca02c", "shap": "#1f77b4",
           "hirescam": "#9467bd", "layercam": "#8c564b", "scorecam": "#e377c2",
           "occlusion": "#17becf", "rise": "#bcbd22", "saliency": "#393b79",
           "input_x_gradient": "#637939", "integrated_gradients": "#8c6d31",
           "smoothgrad": "#843c39"}
FALLBACK_COLOURS = ("#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
                    "#a55194", "#6baed6", "#fd8d3c", "#74c476")
"""Colours, in turn, of the methods without one in :data:`COLOURS` (any new method plots)."""
RANDOM_COLOUR = "#7f7f7f"


def method_colours(methods: list[str]) -> dict[str, str]:
    """A distinct colour per method: its own in :data:`COLOURS`, else the next fallback."""
    spare = iter(FALLBACK_COLOURS * (1 + len(methods) // len(FALLBACK_COLOURS)))
    return {m: COLOURS.get(m) or next(spare) for m in methods}


def plot_faithfulness(faithfulness: ExplanationSet | Mapping[str, Any],
                      dpi: int = 110) -> Figure | None:
    """Deletion and insertion curves of every map, each panel with the random curve.

    Parameters
    ----------
    faithfulness
        The dict from :func:`xaixray.metrics.faithfulness`, or an ``ExplanationSet`` that holds
        one (``result.faithfulness``).
    dpi
        Resolution of the figure.

    Returns
    -------
    matplotlib.figure.Figure or None
        Two panels, deletion then insertion; ``None`` when there is nothing to draw.
    """
    from matplotlib.figure import Figure

    data = faithfulness.faithfulness if isinstance(faithfulness, ExplanationSet) else faithfulness
    methods = (data or {}).get("methods") or {}
    if not methods:
        return None
    score = data.get("settings", {}).get("score", "probability")
    ylabel = "log-odds of the class" if score == "logit" else "probability of the class"
    # a fixed layout: constrained layout gives the same picture and doubles the drawing time
    colours = method_colours(list(methods))
    many = len(methods) > 4  # then the legends go under the panels, two columns each
    legend_h = 0.17 * -(-(len(methods) + 1) // 2) + 0.2 if many else 0.0  # inches
    height = 3.0 + legend_h
    fig = Figure(figsize=(8.0, height), dpi=dpi)
    axes = fig.subplots(1, 2, sharey=True, gridspec_kw={
        "left": 0.075, "right": 0.99, "bottom": (0.45 + legend_h) / height,
        "top": 1 - 0.27 / height, "wspace": 0.05})
    for ax, kind, xlabel, better in (
            (axes[0], "deletion", "share of the image removed (most important first)",
             "lower"),
            (axes[1], "insertion", "share of the image put back (most important first)",
             "higher")):
        shown_random: set[str] = set()
        for d in methods.values():
            c = d["curves"]
            target = str(d.get("target_name"))
            if target not in shown_random:  # maps of one class share the random curve
                shown_random.add(target)
                ax.plot(c["fractions"], c[f"{kind}_random"], color=RANDOM_COLOUR, lw=1.2,
                        ls="--", label=f"random order (area {d[f'{kind}_auc_random']:.2f})")
        for m, d in methods.items():
            c = d["curves"]
            ax.plot(c["fractions"], c[kind], color=colours[m], lw=1.6,
                    label=f"{_title(m)} (area {d[f'{kind}_auc']:.2f})")
        ax.set_title(f"{kind.capitalize()}: {better} area than random is better", fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if many:
            ax.legend(fontsize=6.5, frameon=False, ncol=2, loc="upper center",
                      bbox_to_anchor=(0.5, -0.45 / 2.28), borderaxespad=0, columnspacing=1.0)
        else:
            ax.legend(fontsize=7, frameon=False)
    axes[0].set_ylabel(ylabel, fontsize=8)
    return fig


def plot_audit(audit: Mapping[str, Any], dpi: int = 110) -> Figure | None:
    """An audit's summary over all images, per method: deletion and insertion areas against
    random, and the border and outside-body shares.

    ``audit`` is what :meth:`xaixray.run.Audit.to_dict` returns (``audit.json``). Returns
    ``None`` when no method has numbers.
    """
    import numpy as np
    from matplotlib.figure import Figure

    methods = {m: s for m, s in (audit.get("methods") or {}).items() if s.get("n")}
    if not methods:
        return None
    fig = Figure(figsize=(9.0, 2.8), dpi=dpi, layout="constrained")
    axes = fig.subplots(1, 3)
    x = np.arange(len(methods))
    names = [_title(m) for m in methods]
    for ax, kind, better in ((axes[0], "deletion", "lower"), (axes[1], "insertion", "higher")):
        ours = [s.get(f"{kind}_auc") or 0.0 for s in methods.values()]
        rand = [s.get(f"{kind}_auc_random") or 0.0 for s in methods.values()]
        ax.bar(x - 0.2, ours, 0.4, color=list(method_colours(list(methods)).values()), label="map")
        ax.bar(x + 0.2, rand, 0.4, color=RANDOM_COLOUR, label="random order")
        ax.set_title(f"{kind.capitalize()} area ({better} is better)", fontsize=9)
    shares = (("border_share", "border"), ("outside_body_share", "outside body"))
    for k, (key, label) in enumerate(shares):
        values = [s.get(key) or 0.0 for s in methods.values()]
        axes[2].bar(x + (k - 0.5) * 0.4, values, 0.4, label=label,
                    color=("#9467bd", "#8c564b")[k])
    axes[2].set_ylim(0, 1)
    axes[2].set_title("Attribution share (low is better)", fontsize=9)
    for ax in axes:
        ax.set_xticks(x, names, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
    return fig


def _title(method: str) -> str:
    cls = METHODS.get(method)
    return cls.title if cls is not None else method
