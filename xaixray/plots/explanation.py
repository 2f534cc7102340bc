"""The explanation figure: the X-ray and one panel per method, side by side.

Functions here return :class:`matplotlib.figure.Figure` objects built without pyplot (no global
state, no windows) and never write files; :mod:`xaixray.reports` writes them.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from ..explainers import METHODS, Explanation, ExplanationSet
from ..imaging import display_name, resize_map

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PANEL_INCHES = 3.3
GRADCAM_ALPHA = 0.45
LIME_TOP = 5
POSITIVE_RGB = (0.10, 0.85, 0.25)
NEGATIVE_RGB = (0.95, 0.15, 0.15)
SHAP_CMAP = "bwr"
PNG_LEVEL = 1
"""zlib compression of figures: fast, files a little larger."""
MAX_COLUMNS = 5
"""Panels per row of the side-by-side figure; more methods wrap into further rows."""
TITLE_INCHES, SLOT_INCHES = 0.72, 0.75
"""Room above each row's panels (titles) and below them (colour bar or legend)."""
COUNT_PARAMS = {"num_samples": "samples", "max_evals": "evals", "masks": "masks",
                "steps": "steps", "n_samples": "samples", "samples": "samples"}
"""Parameters shown in a panel's title as ``<value> <word>``, whichever method has them."""


def plot_explanations(result: ExplanationSet, methods: list[str] | None = None,
                      max_side: int = 768, lime_top: int = LIME_TOP,
                      dpi: int = 110) -> Figure:
    """Side-by-side figure of one image's explanations.

    Parameters
    ----------
    result
        An :class:`~xaixray.explainers.ExplanationSet` (from :func:`xaixray.explain`).
    methods
        Which methods to show, in order (default: all that were asked for). Methods that failed
        get a panel with their message.
    max_side
        Images larger than this are downsampled for display only.
    lime_top
        Number of positive and of negative LIME superpixels outlined.
    dpi
        Resolution of the figure.

    Returns
    -------
    matplotlib.figure.Figure
        Panels, :data:`MAX_COLUMNS` to a row: the X-ray with the class probabilities, then one
        per method, drawn by what the map is, whatever the method: non-negative maps
        (``signed`` false: the CAMs, RISE) as a jet overlay from their lowest to their highest
        value; superpixel maps (LIME: ``segments`` and ``weights`` in the extras) as the top
        superpixels for the class in green and against it in red; other signed maps (SHAP,
        occlusion, gradients) blue-white-red, centred on zero, symmetric limits, over a faint
        X-ray. Save it with ``fig.savefig(path)``.
    """
    from matplotlib.figure import Figure

    methods = list(methods if methods is not None else result.methods)
    gray = _display_gray(result.image, max_side)
    h, w = gray.shape
    panel_h = PANEL_INCHES * float(np.clip(h / w, 0.6, 1.6))
    n = 1 + len(methods)
    rows, columns = -(-n // MAX_COLUMNS), min(n, MAX_COLUMNS)
    fig = Figure(figsize=(PANEL_INCHES * columns,
                          rows * (panel_h + TITLE_INCHES + SLOT_INCHES - 0.22)), dpi=dpi)
    axes, slots = _panel_axes(fig, n, columns, panel_h - 0.22)
    _plot_original(axes[0], slots[0], result, _display_image(result.image, max_side))
    for ax, slot, m in zip(axes[1:], slots[1:], methods):
        if m in result.explanations:
            e = result.explanations[m]
            _plot_method(fig, ax, slot, e, gray, lime_top)
            ax.set_title(_plain(f"{_title(m)} → {e.target_name}\n{_details(e)}"), fontsize=9)
        else:
            _plot_error(ax, slot, m, result.errors.get(m, "not run"))
    fig.suptitle(_plain(_suptitle(result)), fontsize=11, y=1 - 0.08 / fig.get_figheight(),
                 va="top")
    return fig


def _panel_axes(fig: Figure, n: int, columns: int,
                image_h: float) -> tuple[list[Axes], list[Axes]]:
    """``n`` image panels, ``columns`` to a row, each with a slot under it for a colour bar or
    legend.

    A fixed layout in inches (room for the title, two-line panel titles, and a colour bar
    with its ticks and label): Matplotlib's constrained layout gives the same picture and
    doubles the time to draw it. ``image_h`` is the height of a panel's image.
    """
    width, height = fig.get_size_inches()
    slot_bottom, slot_h = 0.42, 0.14  # inches above the bottom of the row
    row_h = image_h + TITLE_INCHES + SLOT_INCHES

    def box(left: float, bottom_in: float, w: float, h: float) -> list[float]:
        return [left / width, bottom_in / height, w / width, h / height]

    axes, slots = [], []
    for i in range(n):
        x0 = (i % columns) * PANEL_INCHES
        y0 = height - (i // columns + 1) * row_h  # the bottom of this panel's row
        axes.append(fig.add_axes(box(x0 + 0.08, y0 + SLOT_INCHES, PANEL_INCHES - 0.16,
                                     image_h)))
        slots.append(fig.add_axes(box(x0 + 0.35, y0 + slot_bottom, PANEL_INCHES - 0.7, slot_h)))
    return axes, slots


def plot_overlay(result: ExplanationSet, method: str, max_side: int = 512,
                 lime_top: int = LIME_TOP, dpi: int = 110) -> Figure:
    """One method's panel alone: its overlay on the X-ray and its colour bar or legend.

    The same drawing as that method's panel in :func:`plot_explanations`, without titles, for
    pages that lay panels out themselves (the web app).

    Raises
    ------
    KeyError
        If ``method`` did not run on this image.
    """
    fig, ax = _single_panel(result.explanations[method], result.image, max_side, lime_top, dpi,
                            0.75)
    ax.set_axis_off()
    return fig


def plot_explanation(e: Explanation, max_side: int = 384, lime_top: int = LIME_TOP,
                     dpi: int = 110) -> Figure | None:
    """One :class:`~xaixray.explainers.Explanation` alone: its map over the X-ray, titled with
    the method, the class it explains and the model's probability of it.

    Returns ``None`` when the explanation carries no image to draw on.
    """
    if e.image is None:
        return None
    fig, ax = _single_panel(e, e.image, max_side, lime_top, dpi, 1.05)
    _clean(ax)
    ax.set_title(_plain(f"{_title(e.method)} → {e.target_name} (P = {e.score:.3f})\n"
                        f"{_details(e)}"), fontsize=9)
    return fig


def _single_panel(e: Explanation, image: np.ndarray, max_side: int, lime_top: int, dpi: int,
                  extra_inches: float) -> tuple[Figure, Axes]:
    """A figure of one method's overlay and its colour bar or legend below it."""
    from matplotlib.figure import Figure

    gray = _display_gray(image, max_side)
    h, w = gray.shape
    panel_h = PANEL_INCHES * float(np.clip(h / w, 0.6, 1.6))
    fig = Figure(figsize=(PANEL_INCHES, panel_h + extra_inches), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[panel_h, 0.22])
    ax, slot = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0])
    _plot_method(fig, ax, slot, e, gray, lime_top)
    return fig, ax


def _plot_method(fig: Figure, ax: Axes, slot: Axes, e: Explanation, gray: np.ndarray,
                 lime_top: int) -> None:
    """One method's overlay in ``ax`` and its colour bar or legend in ``slot``, chosen by the
    kind of map (superpixel weights, non-negative, signed), not by the method's name."""
    if "segments" in e.extras and "weights" in e.extras:
        _plot_lime(ax, slot, e, gray, lime_top)
    elif not e.signed:
        _plot_unsigned(fig, ax, slot, e, gray)
    else:
        _plot_signed(fig, ax, slot, e, gray)


# ---------------------------------------------------------------------- panels
def _plot_original(ax: Axes, slot: Axes, result: ExplanationSet, image: np.ndarray) -> None:
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
    _clean(ax)
    name = _shorten(display_name(result.source), 34)
    ax.set_title(_plain(f"X-ray\n{name}"), fontsize=9)
    if result.box is not None:  # the model crops: show what it sees (the maps are 0 outside)
        from matplotlib.patches import Rectangle

        top, bottom, left, right = result.box
        scale = image.shape[0] / result.image.shape[0]
        ax.add_patch(Rectangle((left * scale - 0.5, top * scale - 0.5), (right - left) * scale,
                               (bottom - top) * scale, fill=False, edgecolor="#ffd000",
                               linestyle="--", linewidth=1.2))
        ax.text(0.5, 0.01, "dashed: what the model sees", color="#ffd000", fontsize=7,
                ha="center", va="bottom", transform=ax.transAxes)
    slot.axis("off")
    probs = "\n".join(f"P({c}) = {p:.3f}" + ("  ← predicted" if i == result.prediction else "")
                      for i, (c, p) in enumerate(zip(result.class_names, result.probabilities)))
    slot.text(0.5, 0.5, _plain(probs), ha="center", va="center", fontsize=8,
              transform=slot.transAxes)


def _plot_unsigned(fig: Figure, ax: Axes, slot: Axes, e: Explanation, gray: np.ndarray) -> None:
    heat = _display_map(e.heatmap, gray.shape)
    low, high = _unsigned_limits(heat)
    ax.imshow(gray, cmap="gray", vmin=0, vmax=1)
    im = ax.imshow(heat, cmap="jet", vmin=low, vmax=high, alpha=GRADCAM_ALPHA)
    _clean(ax)
    cb = fig.colorbar(im, cax=slot, orientation="horizontal",
                      ticks=[low, (low + high) / 2, high])
    if (low, high) != (0.0, 1.0):
        cb.ax.set_xticklabels([f"{v:.3g}" for v in (low, (low + high) / 2, high)])
    cb.set_label("relative importance for the class", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    if e.extras.get("flat"):
        _note(ax, "flat map: no positive evidence\nin this layer for this class")


def _plot_lime(ax: Axes, slot: Axes, e: Explanation, gray: np.ndarray, top: int) -> None:
    from matplotlib.patches import Patch
    from skimage.segmentation import mark_boundaries

    segments = resize_map(e.extras["segments"], gray.shape, nearest=True)
    weights = e.extras["weights"]
    ranked = sorted(weights.items(), key=lambda kv: kv[1])
    positive = [s for s, wt in ranked[::-1] if wt > 0][:top]
    negative = [s for s, wt in ranked if wt < 0][:top]
    rgb = np.repeat(gray[..., None], 3, axis=2)
    for chosen, colour in ((positive, POSITIVE_RGB), (negative, NEGATIVE_RGB)):
        if not chosen:
            continue
        inside = np.isin(segments, chosen)
        rgb[inside] = 0.65 * rgb[inside] + 0.35 * np.asarray(colour)
        labels = np.where(inside, segments + 1, 0)
        rgb = mark_boundaries(rgb, labels, color=colour, mode="inner")
    ax.imshow(np.clip(rgb, 0, 1))
    _clean(ax)
    handles = [Patch(facecolor=POSITIVE_RGB, alpha=0.7,
                     label=_plain(f"supports {e.target_name} (top {len(positive)})")),
               Patch(facecolor=NEGATIVE_RGB, alpha=0.7,
                     label=_plain(f"against {e.target_name} (top {len(negative)})"))]
    slot.axis("off")
    slot.legend(handles=handles, loc="center", ncol=1, fontsize=8, frameon=False,
                handlelength=1.2, borderaxespad=0)


def _plot_signed(fig: Figure, ax: Axes, slot: Axes, e: Explanation, gray: np.ndarray) -> None:
    heat = _display_map(e.heatmap, gray.shape)
    limit = _symmetric_limit(heat)
    ax.imshow(gray, cmap="gray", vmin=-0.35, vmax=1.25)  # faint: compressed contrast
    im = ax.imshow(heat, cmap=SHAP_CMAP, vmin=-limit, vmax=limit, alpha=0.6)
    _clean(ax)
    cb = fig.colorbar(im, cax=slot, orientation="horizontal", ticks=[-limit, 0, limit])
    cb.ax.set_xticklabels([f"{-limit:.2g}", "0", f"+{limit:.2g}"])
    output = e.params.get("output")
    label = ("attribution" if output is None else
             f"Δ P({e.target_name})" if output == "probability" else "Δ log-odds")
    cb.set_label(_plain(f"{label}: red for, blue against"), fontsize=8)
    cb.ax.tick_params(labelsize=7)


def _plot_error(ax: Axes, slot: Axes, method: str, message: str) -> None:
    slot.axis("off")
    _clean(ax)
    ax.set_facecolor("#f4f4f4")
    ax.set_title(_plain(f"{_title(method)}\nnot available"), fontsize=9)
    ax.text(0.5, 0.5, _plain(textwrap.fill(message, 30)), ha="center", va="center", fontsize=8,
            color="#333333", transform=ax.transAxes, wrap=True)


# ---------------------------------------------------------------------- helpers
def _title(method: str) -> str:
    explainer = METHODS.get(method)
    return explainer.title if explainer is not None else method


def _details(e: Explanation) -> str:
    """A panel's second title line, from whatever the method recorded (no per-method code)."""
    p, x = e.params, e.extras
    bits = []
    layers = x.get("layers") or []
    if len(layers) > 1:
        bits.append(f"{len(layers)} layers")
    elif x.get("layer", p.get("layer")) is not None:
        bits.append(f"layer {_shorten(str(x.get('layer', p.get('layer'))), 18)}")
    bits += [f"{p[k]} {word}" for k, word in COUNT_PARAMS.items() if k in p]
    if "patches" in x:
        bits.append(f"{x['patches']} patches")
    if "n_segments" in x:
        bits.append(f"{x['n_segments']} superpixels")
    if "r2" in x:
        bits.append(f"R²={x['r2']:.2f}")
    bits.append(f"{e.seconds:.1f} s" if e.seconds >= 0.1 else f"{e.seconds:.2f} s")
    return " · ".join(bits)


def _plain(text: str) -> str:
    """Show ``$`` literally: Matplotlib would read text between two of them as math."""
    return text.replace("$", r"\$")


def _suptitle(result: ExplanationSet) -> str:
    targets = {e.target_name for e in result.explanations.values()}
    text = (f"Model {result.model_name}: {result.prediction_name} "
            f"(P = {result.probability:.2f})")
    if len(targets) == 1:
        text += f" — maps explain {targets.pop()}"
    return text


def _display_image(image: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _display_gray(image: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    im = _display_image(image, max_side)
    if im.ndim == 3:
        im = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)
    return im.astype(np.float32) / 255.0


def _display_map(heatmap: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    if heatmap.shape == shape:
        return heatmap
    return cv2.resize(heatmap.astype(np.float32), (shape[1], shape[0]),
                      interpolation=cv2.INTER_AREA)


def _unsigned_limits(heat: np.ndarray) -> tuple[float, float]:
    """Colour limits of a non-negative map: [0, 1] for maps scaled to it (the CAMs, RISE),
    else from its lowest non-negative value to its highest."""
    finite = heat[np.isfinite(heat)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = max(0.0, float(finite.min())), float(finite.max())
    if high <= 1.0:
        return 0.0, 1.0
    return (low, high) if high > low else (0.0, max(high, 1e-12))


def _symmetric_limit(heat: np.ndarray) -> float:
    a = np.abs(heat[np.isfinite(heat)])
    if a.size == 0:
        return 1e-12
    limit = float(np.percentile(a, 99.5))
    if limit <= 0:
        limit = float(a.max())
    return limit if limit > 0 else 1e-12


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.04, _plain(text), ha="center", va="bottom", fontsize=7.5, color="white",
            transform=ax.transAxes, bbox={"facecolor": "black", "alpha": 0.55, "pad": 2})


def _clean(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def figure_to_png(fig: Figure, dpi: Any = None) -> bytes:
    """PNG bytes of a figure (Agg), for writing or embedding (zlib level :data:`PNG_LEVEL`)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor="white",
                pil_kwargs={"compress_level": PNG_LEVEL})
    return buf.getvalue()
