"""How faithful is each map of one image? The numbers a per-image report shows.

:func:`faithfulness` runs, for every method of an :class:`~xaixray.explainers.ExplanationSet`,
the deletion and insertion curves against random rankings (:mod:`.perturbation`) and the border
and outside-body shares (:mod:`.shortcuts`), and says in words whether each map did better than
random and whether it puts its weight where a shortcut would be. Model-parameter randomisation is
left out: it recomputes every map once per layer, which belongs to an audit over many images, not
to each report.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..classifier import Classifier
from ..errors import about_input
from ..explainers import ExplanationSet
from .perturbation import BLUR_SIGMA, GRID, N_RANDOM, perturbation_curves_many
from .shortcuts import BAND, body_mask, shortcut_shares, shortcut_warnings

REPORT_STEPS = 8
"""Curve steps of a report's faithfulness section (the audit keeps 25). Chosen by measurement
(``benchmarks/faithfulness_passes.py``, docs/faithfulness.md): on 32 calibration X-rays x 4
maps, 8 steps with 3 random orders gave the same verdicts as a 50-step, 12-order reference as
often as 25 steps did (98.4% of "beat random on both"), in 100 forward passes per image instead
of 338; fewer random orders cost more agreement than fewer steps did."""
SCORE = "logit"
"""What the report's curves score: log-odds keep their resolution when a prediction is
saturated (the bundled model gives many probabilities of 0.9999 and more)."""


def verdict(deletion_better: bool, insertion_better: bool) -> str:
    """A plain verdict from the two comparisons with random."""
    if deletion_better and insertion_better:
        return "better than random on deletion and insertion"
    if deletion_better:
        return "better than random on deletion only"
    if insertion_better:
        return "better than random on insertion only"
    return "no better than random: do not read much into this map"


def faithfulness(classifier: Classifier, result: ExplanationSet, *, steps: int = REPORT_STEPS,
                 grid: int | None = GRID, removal: str = "blur",
                 blur_sigma: float = BLUR_SIGMA, score: str = SCORE, n_random: int = N_RANDOM,
                 seed: int = 0, band: float = BAND) -> dict[str, Any]:
    """Deletion/insertion against random and shortcut shares for every map of one image.

    Parameters
    ----------
    classifier
        The classifier that ``result`` explains.
    result
        One image's explanations (:func:`xaixray.explain`).
    steps, grid, removal, blur_sigma, score, n_random, seed
        As in :func:`~xaixray.metrics.perturbation_curves`, except that here ``steps`` defaults
        to :data:`REPORT_STEPS` (8) and ``score`` to ``"logit"``.
    band
        Width of the border band (:func:`~xaixray.metrics.border_share`).

    Returns
    -------
    dict
        JSON-ready: ``settings``; ``methods`` ``{method: {target, target_name, deletion_auc,
        deletion_auc_random, deletion_better, insertion_auc, insertion_auc_random,
        insertion_better, faithful, verdict, border_share, border_area, outside_body_share,
        outside_body_area, warnings, curves}}``, where ``curves`` holds ``fractions``,
        ``deletion``, ``deletion_random``, ``insertion`` and ``insertion_random``;
        ``notes`` (sentences about the image as a whole); ``passed`` (the methods whose maps
        beat random on deletion and insertion); ``seconds``.

    Examples
    --------
    >>> [result] = xaixray.explain(clf, "chest.jpeg")                 # doctest: +SKIP
    >>> f = faithfulness(clf, result)                                 # doctest: +SKIP
    >>> f["methods"]["gradcam"]["verdict"]                            # doctest: +SKIP
    'better than random on deletion and insertion'
    """
    return faithfulness_many(classifier, [result], steps=steps, grid=grid, removal=removal,
                             blur_sigma=blur_sigma, score=score, n_random=n_random, seed=seed,
                             band=band)[0]


def faithfulness_many(classifier: Classifier, results: Sequence[ExplanationSet], *,
                      steps: int = REPORT_STEPS, grid: int | None = GRID, removal: str = "blur",
                      blur_sigma: float = BLUR_SIGMA, score: str = SCORE,
                      n_random: int = N_RANDOM, seed: int = 0,
                      band: float = BAND) -> list[dict[str, Any]]:
    """:func:`faithfulness` of several images, their curves scored in shared batches.

    What a folder run uses: the same numbers as image by image, in fewer trips through the
    model. Each result's ``seconds`` is its share of the block's time.
    """
    start = time.perf_counter()
    settings = {"steps": int(steps), "grid": grid, "removal": removal,
                "blur_sigma": float(blur_sigma), "score": score, "n_random": int(n_random),
                "seed": int(seed), "band": float(band)}
    jobs: list[tuple[int, int, list[str]]] = []  # (result, target, methods), one curve job each
    items = []
    for k, result in enumerate(results):
        explanations = _explanations(result)
        if not explanations:
            continue
        with about_input(result.source):
            box = result.box if result.box is not None else classifier.preprocessing.crop_box(
                result.image)
            crop = None if box is None else (box, result.image.shape[:2])
            prepared = classifier.preprocessing.prepare([result.image], [box])[0]
        by_target: dict[int, list[str]] = {}
        for m, e in explanations.items():
            by_target.setdefault(e.target, []).append(m)
        for target, methods in by_target.items():
            jobs.append((k, target, methods))
            items.append((prepared, {m: explanations[m].heatmap for m in methods}, target,
                          crop))
    curves = perturbation_curves_many(classifier, items, steps=steps, grid=grid,
                                      removal=removal, blur_sigma=blur_sigma, score=score,
                                      n_random=n_random, seed=seed,
                                      sources=[results[k].source for k, _, _ in jobs])
    outs: list[dict[str, Any]] = [{"settings": dict(settings), "methods": {}, "notes": []}
                                  for _ in results]
    bodies: dict[int, np.ndarray] = {}
    for (k, target, methods), found in zip(jobs, curves):
        result, out = results[k], outs[k]
        with about_input(result.source):
            if k not in bodies:
                bodies[k] = body_mask(result.image)
            first = found[methods[0]]["deletion"]
            if first.scores[-1] >= first.scores[0]:
                out["notes"].append(_blur_note(classifier.class_names[target], first, score))
            for m in methods:
                e = result.explanations[m]
                shares = shortcut_shares(e.heatmap, result.image, band, bodies[k])
                out["methods"][m] = _method_entry(e, found[m]["deletion"],
                                                  found[m]["insertion"], shares, _title(m))
    seconds = (time.perf_counter() - start) / max(len(results), 1)
    for k, out in enumerate(outs):
        if out["methods"] or _explanations(results[k]):
            out["passed"] = [m for m, d in out["methods"].items() if d["faithful"]]
        out["seconds"] = seconds
    return outs


def _explanations(result: ExplanationSet) -> dict[str, Any]:
    return {m: result.explanations[m] for m in result.methods if m in result.explanations}


def _blur_note(name: str, first: Any, score: str) -> str:
    return (f"Blurring the whole image does not lower the model's score for {name} "
            f"({_score_text(first.scores[0], score)} intact, "
            f"{_score_text(first.scores[-1], score)} fully blurred): the model reads blur "
            f"as evidence for {name}, so the deletion curves end high and the insertion "
            "curves start high. The comparison with random still holds: a faithful map "
            "removes the parts that support the class sooner (a lower deletion curve) and "
            "puts them back sooner (a higher insertion curve).")


def _method_entry(e: Any, d: Any, i: Any, shares: dict[str, Any], title: str) -> dict[str, Any]:
    """One map's numbers in a report: the two curves against random and the shortcut shares."""
    return {
        "target": e.target, "target_name": e.target_name,
        "deletion_auc": d.auc, "deletion_auc_random": d.auc_random,
        "deletion_better": d.better_than_random,
        "insertion_auc": i.auc, "insertion_auc_random": i.auc_random,
        "insertion_better": i.better_than_random,
        "faithful": d.better_than_random and i.better_than_random,
        "verdict": verdict(d.better_than_random, i.better_than_random),
        **shares,
        "warnings": shortcut_warnings(shares, title),
        "curves": {"fractions": [round(float(f), 4) for f in d.fractions],
                   "deletion": _floats(d.scores),
                   "deletion_random": _floats(d.random_scores),
                   "insertion": _floats(i.scores),
                   "insertion_random": _floats(i.random_scores)},
    }


def passed_line(faith: dict[str, Any]) -> str | None:
    """One line saying which maps of a report passed (beat random on deletion and insertion)."""
    methods = faith.get("methods") or {}
    if not methods:
        return None
    passed = [_title(m) for m, d in methods.items() if d.get("faithful")]
    failed = [_title(m) for m, d in methods.items() if not d.get("faithful")]
    if not passed:
        return "No map of this image beats random on both deletion and insertion."
    return ("Passed (better than random on deletion and insertion): " + ", ".join(passed)
            + ("; not passed: " + ", ".join(failed) if failed else "") + ".")


def _floats(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def _score_text(value: float, score: str) -> str:
    return f"log-odds {value:.1f}" if score == "logit" else f"probability {value:.3f}"


def _title(method: str) -> str:
    from ..explainers import METHODS

    cls = METHODS.get(method)
    return cls.title if cls is not None else method
