"""Deletion and insertion curves (Petsiuk et al. 2018), each against random rankings.

A faithful map ranks the image's regions by how much the model's score depends on them.
**Deletion** removes the regions the map ranks highest first, in ``steps`` equal steps, and
records the target's score after each step: the faster it falls, the better the map (a low area
under the curve). **Insertion** starts from the image with everything removed and puts the
highest-ranked regions back first: the faster the score rises, the better (a high area). The same
curves for random rankings (the mean over ``n_random`` seeds) are the chance level every map is
compared with.

**Regions: the cells of a 16 x 16 grid** (``grid``), ranked by the map's mean over each cell, so
a step removes about 10 cells at 25 steps. Removing single pixels at random scatters specks over
the whole image; a model reads those as texture (the bundled model, as disease), so the random
curve falls faster than any map's and a map's inverse would look better than random. With cells,
maps and random rankings remove image parts of the same size. ``grid=None`` removes pixels.

**Removal by blur** (``removal="blur"``, the default). A removed cell takes its value in a
heavily blurred copy of the image (a Gaussian of ``blur_sigma`` times the shorter side, 10% by
default). Cells are not set to black or to a constant: a constant fill draws the outline of what
was removed into the image, and a model can react to that outline rather than to the missing
evidence (Rong et al. 2022, "ROAD"). The blurred copy keeps the local brightness, so the border
between removed and kept parts stays faint, while the fine and mid-scale detail the model could
use is gone.

**Removal by ROAD** (``removal="road"``). Each step's removed cells are filled from the kept
pixels around them by noisy linear imputation (:mod:`xaixray.metrics.imputation`), so the fill
holds no trace of blur (which the bundled model reads as evidence for PNEUMONIA) and no outline.
It costs one sparse solve per step and curve (tens of milliseconds each at 128 px).

Ties in a map (a LIME superpixel, a flat Grad-CAM) are ranked in a random order drawn from
``seed``, so results are deterministic for a seed and ties are not removed in raster order.

References: Petsiuk, Das, Saenko, "RISE: Randomized input sampling for explanation of black-box
models", BMVC 2018; Rong, Leemann, Borisov, Kasneci, Kasneci, "A consistent and efficient
evaluation strategy for attribution methods" (ROAD), ICML 2022.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..anatomy import Box
from ..classifier import Classifier
from ..errors import ExplainerError, about_input
from ..explainers import PreparedImage, Target
from ..imaging import ImageLike
from .imputation import NOISE, impute
from .inputs import SCORES, all_class_scores, crop_box_of, map_on_grid, model_frame, target_index

KINDS = ("deletion", "insertion")
STEPS = 25
GRID = 16
BLUR_SIGMA = 0.1
N_RANDOM = 3
MAX_ROWS = 1024
"""At most this many curve images (plus one image's worth) are held before they are scored:
1024 at 224 x 224 x 3 is 600 MB of float32."""
REMOVALS = {
    "blur": "removed pixels take their value in a Gaussian-blurred copy of the image "
            "(sigma = blur_sigma x the shorter side)",
    "road": "removed pixels are filled from the kept ones by noisy linear imputation (ROAD, "
            "Rong et al. 2022; xaixray.metrics.imputation), anew at every step",
}


@dataclass
class Curve:
    """A deletion or insertion curve of one map, with the random-ranking curve beside it.

    Attributes
    ----------
    kind
        ``"deletion"`` or ``"insertion"``.
    fractions
        Share of the pixels removed (deletion) or revealed (insertion) at each step, 0 to 1.
    scores
        The target's score at each step.
    auc
        Area under ``scores`` over ``fractions`` (trapezoidal rule).
    random_scores
        The mean score at each step over ``n_random`` random rankings.
    auc_random
        Mean area under the random curves.
    auc_random_sd
        Standard deviation of the random curves' areas (0 for one random ranking).
    """

    kind: str
    fractions: np.ndarray
    scores: np.ndarray
    auc: float
    random_scores: np.ndarray
    auc_random: float
    auc_random_sd: float = 0.0
    params: dict = field(default_factory=dict)

    @property
    def better_than_random(self) -> bool:
        """Deletion: area below random's; insertion: above."""
        if self.kind == "deletion":
            return self.auc < self.auc_random
        return self.auc > self.auc_random

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers and lists (JSON-ready)."""
        return {"kind": self.kind, "auc": self.auc, "auc_random": self.auc_random,
                "auc_random_sd": self.auc_random_sd,
                "better_than_random": self.better_than_random,
                "fractions": [round(float(f), 4) for f in self.fractions],
                "scores": [float(s) for s in self.scores],
                "random_scores": [float(s) for s in self.random_scores],
                "params": dict(self.params)}


def removed_image(prepared: np.ndarray, removal: str = "blur",
                  blur_sigma: float = BLUR_SIGMA) -> np.ndarray:
    """The image with every pixel removed: what deleted pixels become (see :data:`REMOVALS`).

    Parameters
    ----------
    prepared
        ``float32`` ``(h, w, c)`` model-frame image.
    removal
        ``"blur"`` or ``"road"``.
    blur_sigma
        Gaussian sigma as a fraction of the shorter side.

    For ``"road"`` there is no single removed image (each step is imputed from what it
    keeps): this returns the image's mean, what ROAD fills when nothing is kept.
    """
    from scipy.ndimage import gaussian_filter

    if removal not in REMOVALS:
        raise ExplainerError(f"unknown removal {removal!r}; use {', '.join(REMOVALS)}")
    if removal == "road":
        return impute(prepared, np.zeros(prepared.shape[:2], bool), noise=0.0)
    if not 0 < blur_sigma:
        raise ExplainerError(f"blur_sigma must be > 0, got {blur_sigma}")
    sigma = blur_sigma * min(prepared.shape[:2])
    return gaussian_filter(np.asarray(prepared, np.float32), sigma=(sigma, sigma, 0),
                           mode="reflect").astype(np.float32)


def pixel_ranks(heatmap: np.ndarray, seed: int = 0) -> np.ndarray:
    """Rank of every pixel of a 2-D map: 0 for the highest value; ties in a seeded random order."""
    values = np.asarray(heatmap, np.float64).ravel()
    tiebreak = np.random.default_rng(seed).permutation(values.size)
    order = np.lexsort((tiebreak, -values))  # last key sorts first: by value, then tie-break
    ranks = np.empty(values.size, np.int64)
    ranks[order] = np.arange(values.size)
    return ranks.reshape(np.shape(heatmap))


def step_fractions(steps: int = STEPS) -> np.ndarray:
    """``steps + 1`` fractions from 0 to 1."""
    if int(steps) < 2:
        raise ExplainerError(f"steps must be at least 2, got {steps}")
    return np.linspace(0.0, 1.0, int(steps) + 1)


def cell_ids(shape: tuple[int, int], grid: int | None) -> tuple[np.ndarray, int]:
    """Each pixel's cell on a ``grid`` x ``grid`` grid (``None``: every pixel its own cell).

    Returns the ``(h, w)`` cell indices and the number of cells.
    """
    h, w = shape
    if grid is None:
        return np.arange(h * w).reshape(h, w), h * w
    g = int(grid)
    if not 2 <= g <= min(h, w):
        raise ExplainerError(f"grid must be between 2 and {min(h, w)} (the image side), got {g}")
    rows = np.arange(h) * g // h
    cols = np.arange(w) * g // w
    return rows[:, None] * g + cols[None, :], g * g


def cell_ranks(heatmap: np.ndarray, cells: np.ndarray, n_cells: int,
               seed: int = 0) -> np.ndarray:
    """Rank of every cell by the map's mean over it (0 = highest); ties in a seeded order."""
    flat = cells.ravel()
    sums = np.bincount(flat, weights=np.asarray(heatmap, np.float64).ravel(), minlength=n_cells)
    means = sums / np.maximum(np.bincount(flat, minlength=n_cells), 1)
    return pixel_ranks(means, seed)


@dataclass
class _CurveJob:
    """One image's curves before scoring: the images to score and where each curve reads them.

    ``rows[r, k]`` is the row of ``batch`` that curve ``runs[r]`` scores at step ``k``. With blur
    every curve starts or ends on the intact or the fully removed image, so those two are scored
    once for all curves.
    """

    batch: np.ndarray
    rows: np.ndarray
    runs: list[tuple[str, str | None]]
    names: list[str]
    kinds: tuple[str, ...]
    target: int
    fractions: np.ndarray
    params: dict


def _curve_images(prepared: np.ndarray, removed: np.ndarray | None, pixel_rank: np.ndarray,
                  kind: str, counts: np.ndarray,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """The images of one curve at ``counts`` removed cells (``pixel_rank``: its cell's rank).

    ``removed`` is what removed pixels become; ``None`` imputes each step from the pixels it
    keeps (ROAD), with noise from ``rng``.
    """
    changed = pixel_rank[None] < counts[:, None, None]  # (steps, h, w): removed/revealed
    kept = ~changed if kind == "deletion" else changed
    if removed is None:
        return np.stack([impute(prepared, k, rng=rng) for k in kept])
    return np.where(kept[..., None], prepared[None], removed[None])


def _auc(fractions: np.ndarray, scores: np.ndarray) -> float:
    from scipy.integrate import trapezoid

    return float(trapezoid(scores, fractions))


def _check(kinds: tuple[str, ...], n_random: int, score: str) -> None:
    if score not in SCORES:
        raise ExplainerError(f"unknown score {score!r}; use {' or '.join(SCORES)}")
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ExplainerError(f"unknown curve kind {bad}; use deletion and/or insertion")
    if int(n_random) < 1:
        raise ExplainerError(f"n_random must be at least 1, got {n_random}")


def _curve_job(classifier: Classifier, image: ImageLike | PreparedImage,
               heatmaps: Mapping[str, np.ndarray], target: Target, kinds: tuple[str, ...],
               steps: int, removal: str, blur_sigma: float, grid: int | None, score: str,
               n_random: int, seed: int, crop: tuple[Box, tuple[int, int]] | None
               ) -> _CurveJob:
    """Rank the cells by each map and by ``n_random`` random orders; build every curve's images."""
    prepared = model_frame(classifier, image)
    crop = crop_box_of(classifier, image) if crop is None else crop
    t = target_index(classifier, prepared, target)
    removed = removed_image(prepared, removal, blur_sigma)  # validates removal and blur_sigma
    road = removal == "road"
    fractions = step_fractions(steps)
    shape = prepared.shape[:2]
    cells, n_cells = cell_ids(shape, grid)
    counts = np.rint(fractions * n_cells).astype(np.int64)
    params = {"steps": int(steps), "removal": removal, "blur_sigma": float(blur_sigma),
              "grid": grid, "score": score, "n_random": int(n_random), "seed": int(seed),
              "target": t, **({"noise": NOISE} if road else {})}
    random_ranks = [np.random.default_rng([int(seed), 1, i]).permutation(n_cells)
                    for i in range(int(n_random))]
    map_ranks = {name: cell_ranks(map_on_grid(heat, shape, crop), cells, n_cells, seed)
                 for name, heat in heatmaps.items()}
    ranked = [(kind, None, r) for kind in kinds for r in random_ranks]
    ranked += [(kind, name, r) for name, r in map_ranks.items() for kind in kinds]
    n_steps = len(fractions)
    if road:  # every step imputed anew, the ends too
        parts = [_curve_images(prepared, None, r[cells], kind, counts,
                               np.random.default_rng([int(seed), 2, i]))
                 for i, (kind, _, r) in enumerate(ranked)]
        rows = np.arange(len(ranked) * n_steps).reshape(len(ranked), n_steps)
    else:  # rows 0 and 1: intact and fully removed, shared; then each curve's inner steps
        parts = [prepared[None], removed[None]]
        parts += [_curve_images(prepared, removed, r[cells], kind, counts[1:-1])
                  for kind, _, r in ranked]
        inner = 2 + np.arange(len(ranked) * (n_steps - 2)).reshape(len(ranked), n_steps - 2)
        ends = np.array([[0, 1] if kind == "deletion" else [1, 0] for kind, _, _ in ranked])
        rows = np.concatenate([ends[:, :1], inner, ends[:, 1:]], axis=1)
    return _CurveJob(np.concatenate(parts), rows, [(k, n) for k, n, _ in ranked],
                     list(heatmaps), tuple(kinds), t, fractions, params)


def _curves(job: _CurveJob, scores: np.ndarray) -> dict[str, dict[str, Curve]]:
    """Each map's curves from its job's ``scores`` (one per row of ``job.batch``)."""
    by_run = scores[job.rows]  # (runs, steps + 1)
    fractions = job.fractions
    chance = {}
    for kind in job.kinds:
        rows = np.stack([s for (k, name), s in zip(job.runs, by_run)
                         if k == kind and name is None])
        aucs = [_auc(fractions, s) for s in rows]
        chance[kind] = (rows.mean(axis=0), float(np.mean(aucs)), float(np.std(aucs)))
    out: dict[str, dict[str, Curve]] = {name: {} for name in job.names}
    for (kind, name), s in zip(job.runs, by_run):
        if name is None:
            continue
        mean, auc_r, sd = chance[kind]
        out[name][kind] = Curve(kind, fractions, s, _auc(fractions, s), mean, auc_r, sd,
                                dict(job.params))
    return out


def perturbation_curves(classifier: Classifier, image: ImageLike | PreparedImage,
                        heatmaps: Mapping[str, np.ndarray], target: Target = None, *,
                        kinds: tuple[str, ...] = KINDS, steps: int = STEPS,
                        removal: str = "blur", blur_sigma: float = BLUR_SIGMA,
                        grid: int | None = GRID, score: str = "probability",
                        n_random: int = N_RANDOM, seed: int = 0,
                        batch_size: int = 64,
                        crop: tuple[Box, tuple[int, int]] | None = None
                        ) -> dict[str, dict[str, Curve]]:
    """Deletion and insertion curves for several maps of one image, against random rankings.

    The random curves are computed once and shared by every map.

    Parameters
    ----------
    classifier
        The classifier the maps explain.
    image
        A :class:`~xaixray.explainers.PreparedImage`, a ``float32`` model-frame image
        ``(h, w, c)``, or anything :func:`~xaixray.load_image` reads.
    heatmaps
        ``{name: map}``; each 2-D map in the original image's frame at any resolution (it is
        cropped and resampled to the model frame as the image was), or exactly in the model
        frame.
        Higher values mean "more important for the target".
    target
        Class index or name; ``None`` is the predicted class.
    kinds
        ``("deletion", "insertion")`` or one of them.
    steps
        Number of equal steps from 0% to 100% of the pixels.
    removal, blur_sigma
        How pixels are removed (see :func:`removed_image`).
    grid
        The image is removed in the cells of a ``grid`` x ``grid`` grid, ranked by the map's
        mean over each cell; ``None`` removes single pixels.
    score
        ``"probability"`` (as in Petsiuk et al.) or ``"logit"`` (log-odds, which still moves
        when the probability is saturated near 0 or 1).
    n_random
        Random rankings averaged for the chance level.
    seed
        Seeds the random rankings and the order of ties.
    batch_size
        Images per forward pass.
    crop
        For a model that crops: ``(box, (H, W))``, where the model frame sits in the original
        image (:func:`~xaixray.metrics.inputs.crop_box_of`); found from ``image`` when it is a
        prepared or original image.

    Returns
    -------
    dict
        ``{name: {kind: Curve}}``.
    """
    return perturbation_curves_many(
        classifier, [(image, heatmaps, target, crop)], kinds=kinds, steps=steps,
        removal=removal, blur_sigma=blur_sigma, grid=grid, score=score, n_random=n_random,
        seed=seed, batch_size=batch_size)[0]


def perturbation_curves_many(
        classifier: Classifier,
        items: Sequence[tuple[ImageLike | PreparedImage, Mapping[str, np.ndarray], Target,
                              tuple[Box, tuple[int, int]] | None]], *,
        kinds: tuple[str, ...] = KINDS, steps: int = STEPS, removal: str = "blur",
        blur_sigma: float = BLUR_SIGMA, grid: int | None = GRID, score: str = "probability",
        n_random: int = N_RANDOM, seed: int = 0, batch_size: int = 64,
        sources: Sequence[str] | None = None) -> list[dict[str, dict[str, Curve]]]:
    """:func:`perturbation_curves` of several images, scored together in shared batches.

    ``items`` holds one ``(image, heatmaps, target, crop)`` per image (``crop`` may be
    ``None``); the other parameters are those of :func:`perturbation_curves`, the same for
    every image; ``sources`` names each item in an unexpected error (default: a
    :class:`~xaixray.explainers.PreparedImage`'s source). The curves are the same as image
    by image: only the batching differs (the images of several curve jobs go through the
    model together, up to :data:`MAX_ROWS` model-frame images at a time, so the last, partly
    filled batch of each image is not paid again and again and memory stays bounded).
    """
    _check(kinds, n_random, score)
    out: list[dict[str, dict[str, Curve]]] = []
    pending: list[_CurveJob] = []

    def flush() -> None:  # score the pending jobs in one call, then let their images go
        scores = all_class_scores(classifier, np.concatenate([j.batch for j in pending]),
                                  score, batch_size)
        at = 0
        for job in pending:
            n = len(job.batch)
            out.append(_curves(job, scores[at:at + n, job.target]))
            at += n
        pending.clear()

    for k, (image, heatmaps, target, crop) in enumerate(items):
        source = (sources[k] if sources is not None
                  else image.source if isinstance(image, PreparedImage) else f"image {k + 1}")
        with about_input(source):
            pending.append(_curve_job(classifier, image, heatmaps, target, kinds, steps,
                                      removal, blur_sigma, grid, score, n_random, seed, crop))
        if sum(len(j.batch) for j in pending) >= MAX_ROWS:
            flush()
    if pending:
        flush()
    return out


def deletion_curve(classifier: Classifier, image: ImageLike | PreparedImage,
                   heatmap: np.ndarray, target: Target = None, **options: Any) -> Curve:
    """Deletion curve of one map (see :func:`perturbation_curves` for ``options``).

    Examples
    --------
    >>> c = deletion_curve(clf, "chest.jpeg", e.heatmap)             # doctest: +SKIP
    >>> c.auc, c.auc_random, c.better_than_random                     # doctest: +SKIP
    """
    return perturbation_curves(classifier, image, {"map": heatmap}, target,
                               kinds=("deletion",), **options)["map"]["deletion"]


def insertion_curve(classifier: Classifier, image: ImageLike | PreparedImage,
                    heatmap: np.ndarray, target: Target = None, **options: Any) -> Curve:
    """Insertion curve of one map (see :func:`perturbation_curves` for ``options``)."""
    return perturbation_curves(classifier, image, {"map": heatmap}, target,
                               kinds=("insertion",), **options)["map"]["insertion"]
