"""``xaixray audit``: how faithful are a model's maps, over a labelled set or generated phantoms?

For each image of a stratified sample: explain it with every method, then measure each map with
:mod:`xaixray.metrics` (deletion and insertion against random rankings, border and outside-body
shares, localisation against a lesion mask when there is one) and, on a smaller subset, run the
cascading weight-randomisation check. The per-image numbers are averaged per method, overall and
split by correct and incorrect predictions, with bootstrap 95% intervals.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..classifier import Classifier
from ..data import ImageSet, Phantoms, folder_classes, load_folder, make_phantoms, relabel
from ..errors import DataError, ImageError, XaixrayError, one_line
from ..evaluation.sets import describe_data
from ..explainers import (
    DEFAULT_METHODS,
    PreparedImage,
    check_methods,
    explain_image,
    make_explainers,
)
from ..files import to_json
from ..labels import CLASS_NAMES
from ..metrics import (
    REMOVALS,
    load_mask,
    localization,
    perturbation_curves,
    randomization_check,
    rank_methods,
    recommendation,
    shortcut_shares,
)
from ..reports import atomic_write, prepare_folder
from ..reports.audit import audit_sections, render_audit_html, render_audit_markdown
from ..version import __version__

METRICS = ("deletion_auc", "deletion_auc_random", "insertion_auc", "insertion_auc_random",
           "deletion_better", "insertion_better", "border_share", "outside_body_share",
           "pointing_game", "relevance_mass", "randomization_spearman")
"""Per-image numbers of each method; booleans average to the share of images."""

FILES = {"json": "audit.json", "markdown": "audit.md", "html": "audit.html"}


@dataclass
class AuditImage:
    """One image of an audit: what the model said and each method's metrics."""

    source: str
    label: int
    prediction: int
    probability: float
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        """Whether the model predicted the label."""
        return self.label == self.prediction


@dataclass
class Audit:
    """The result of :func:`audit`: per-image rows and per-method summaries.

    Attributes
    ----------
    model
        The classifier's name.
    methods
        The methods audited, in order.
    images
        One :class:`AuditImage` per image explained.
    failures
        One line per image that could not be read or explained.
    params
        How the audit was run (data, sample size, seed, metric settings).
    masks
        Lesion masks of the data: ``images_with_masks`` (in the sample), ``by_class``
        (``{class: {"images": n, "masks": m}}`` over the sample) and ``orphans`` (mask files
        with no image beside them, never audited).
    """

    model: str
    methods: list[str]
    images: list[AuditImage]
    failures: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    masks: dict[str, Any] = field(default_factory=dict)

    def summary(self, group: str = "all") -> dict[str, dict[str, Any]]:
        """``{method: {metric: mean}}`` over ``group`` (``"all"``, ``"correct"``,
        ``"incorrect"``), with ``n`` and bootstrap 95% ``intervals`` per metric."""
        rows = [im for im in self.images
                if group == "all" or im.correct == (group == "correct")]
        out = {}
        for m in self.methods:
            values = {k: [im.methods[m][k] for im in rows
                          if m in im.methods and im.methods[m].get(k) is not None]
                      for k in METRICS}
            out[m] = {k: _mean(v) for k, v in values.items()}
            out[m]["n"] = sum(1 for im in rows if m in im.methods)
            out[m]["intervals"] = {k: _interval(v, self.params.get("seed", 0))
                                   for k, v in values.items() if len(v) >= 2}
        return out

    def ranking(self) -> list[dict[str, Any]]:
        """The methods, best first, by the rule of :mod:`xaixray.metrics.ranking`."""
        return rank_methods(self.summary("all"))

    def recommendation(self) -> str:
        """One line: which method to trust first for this model, and which fail."""
        return recommendation(self.ranking())

    def to_dict(self) -> dict[str, Any]:
        """What ``audit.json`` holds: ``model``, ``n_images``, ``methods`` (the overall summary),
        ``ranking`` and ``recommendation``, ``groups`` (correct / incorrect), ``images``,
        ``failures``, ``params`` and ``masks``."""
        summary = self.summary("all")
        ranking = rank_methods(summary)
        return {
            "xaixray_version": __version__,
            "model": self.model,
            "n_images": len(self.images),
            "methods": summary,
            "ranking": ranking,
            "recommendation": recommendation(ranking),
            "groups": {g: self.summary(g) for g in ("correct", "incorrect")},
            "counts": {"correct": sum(im.correct for im in self.images),
                       "incorrect": sum(not im.correct for im in self.images)},
            "images": [{"source": im.source, "label": im.label, "prediction": im.prediction,
                        "probability": im.probability, "correct": im.correct,
                        "methods": im.methods, "errors": im.errors} for im in self.images],
            "failures": self.failures,
            "params": self.params,
            "masks": self.masks,
        }

    def _repr_html_(self) -> str:
        """In a notebook: the summary figure, the table over all images and the verdicts."""
        from ..plots import plot_audit
        from ..reports.notebook import figure_img, fragment

        data = self.to_dict()
        figure = figure_img(plot_audit(data), "audit summary")
        return fragment(audit_sections(data, figure, groups=()))

    def write(self, out: str | os.PathLike, overwrite: bool = False) -> dict[str, Path]:
        """Write ``audit.json``, ``audit.md`` and ``audit.html`` into ``out``."""
        folder = prepare_folder(out, overwrite)
        data = self.to_dict()
        return {
            "json": atomic_write(folder / FILES["json"], to_json(data)),
            "markdown": atomic_write(folder / FILES["markdown"], render_audit_markdown(data)),
            "html": atomic_write(folder / FILES["html"], render_audit_html(data)),
        }


def audit(classifier: Classifier, data: Any = None, methods: Sequence[str] | str = DEFAULT_METHODS,
          n: int = 100, phantoms: int | None = None, seed: int = 0,
          randomization_n: int = 5, randomization_steps: int = 3,
          params: Mapping[str, Mapping[str, Any]] | None = None, progress: bool = False,
          removal: str = "blur", **options: Any) -> Audit:
    """Audit how faithful ``classifier``'s explanations are.

    Parameters
    ----------
    classifier
        The model to audit.
    data
        A labelled folder (Kaggle layout: its ``test/`` split, else class folders), an
        :class:`~xaixray.data.ImageSet` or :class:`~xaixray.data.Phantoms`. Images with a mask
        beside them (``name_mask.png``) are also scored for localisation.
    methods
        Methods to audit (default Grad-CAM, LIME, SHAP).
    n
        Images to explain, sampled stratified by class (all when the set is smaller).
    phantoms
        Instead of ``data``, generate this many phantoms (half with lesions, whose masks give the
        pointing game) at the model's input size.
    seed
        Seeds the sample, the methods, the random rankings and the randomised weights.
    randomization_n, randomization_steps
        The weight-randomisation check runs on ``randomization_n`` of the images (a seeded
        sample stratified by class), in ``randomization_steps`` cascading steps (the last one
        randomises every layer).
    params, options
        Method parameters, as in :func:`xaixray.explain`.
    removal
        How deletion and insertion remove pixels: ``"blur"`` or ``"road"`` (noisy linear
        imputation; :data:`xaixray.metrics.REMOVALS`).

    Returns
    -------
    Audit
        Write it with :meth:`Audit.write`.
    """
    order = check_methods(methods)
    if removal not in REMOVALS:
        raise XaixrayError(f"unknown removal {removal!r}; use {' or '.join(REMOVALS)}")
    images, labels, masks, sources, data_name, orphans = _sample(classifier, data, n, phantoms,
                                                                 seed)
    explainers, errors = make_explainers(classifier, order, seed, params, **options)
    if not explainers:
        raise XaixrayError("; ".join(f"{m}: {msg}" for m, msg in errors.items()))
    result = Audit(classifier.name, order, [], masks=_mask_counts(
        classifier.class_names, labels, masks, orphans), params={
        "data": data_name, "n_requested": n, "seed": seed, "methods_params":
        {m: e.params for m, e in explainers.items()}, "randomization_n": randomization_n,
        "randomization_steps": randomization_steps, "removal": removal, "score": "probability"})
    # the randomisation subset is itself stratified, so that it is not one class only
    randomized = set(_stratified(np.asarray(labels), randomization_n, seed).tolist()) \
        if randomization_n > 0 else set()
    bar = _progress(len(images), progress)
    try:
        for i, (image, label, mask, source) in enumerate(zip(images, labels, masks, sources)):
            try:
                row = _audit_one(classifier, image, int(label), mask, source, explainers,
                                 errors, order, seed, i in randomized, randomization_steps,
                                 removal)
            except ImageError as exc:
                result.failures.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - one image must not stop the audit
                result.failures.append(f"{source}: {type(exc).__name__}: {one_line(exc)}")
            else:
                result.images.append(row)
            bar.update()
    finally:
        bar.close()
    if not result.images:
        raise DataError("no image could be audited: " + "; ".join(result.failures[:3]))
    return result


def _audit_one(classifier: Classifier, image: Any, label: int, mask: np.ndarray | None,
               source: str, explainers: Mapping[str, Any], errors: Mapping[str, str],
               order: Sequence[str], seed: int, randomize: bool, steps: int,
               removal: str = "blur") -> AuditImage:
    prepared = PreparedImage.load(classifier, image)
    prepared.source = source
    explained = explain_image(classifier, prepared, explainers, errors, None, order)
    row = AuditImage(source, label, explained.prediction, explained.probability,
                     errors=dict(explained.errors))
    maps = {m: e.heatmap for m, e in explained.explanations.items()}
    if not maps:
        return row
    curves = perturbation_curves(classifier, prepared, maps, explained.prediction, seed=seed,
                                 removal=removal)
    positive = classifier.positive_index
    for m, heat in maps.items():
        d, ins = curves[m]["deletion"], curves[m]["insertion"]
        shares = shortcut_shares(heat, prepared.original)
        metrics = {"deletion_auc": d.auc, "deletion_auc_random": d.auc_random,
                   "insertion_auc": ins.auc, "insertion_auc_random": ins.auc_random,
                   "deletion_better": d.better_than_random,
                   "insertion_better": ins.better_than_random,
                   "border_share": shares["border_share"],
                   "outside_body_share": shares["outside_body_share"],
                   "pointing_game": None, "relevance_mass": None,
                   "randomization_spearman": None}
        if mask is not None and mask.any() and explained.prediction == positive:
            loc = localization(heat, mask)
            metrics["pointing_game"] = loc["pointing_game"]
            metrics["relevance_mass"] = loc["relevance_mass"]
        if randomize:
            try:
                check = randomization_check(classifier, prepared, explainers[m],
                                            explained.prediction, steps=steps, seed=seed)
                metrics["randomization_spearman"] = check.final_spearman
            except Exception as exc:  # noqa: BLE001 - the other numbers of this image still count
                row.errors[m] = f"randomisation check: {type(exc).__name__}: {one_line(exc)}"
        row.methods[m] = metrics
    return row


def _sample(classifier: Classifier, data: Any, n: int, phantoms: int | None, seed: int
            ) -> tuple[list, np.ndarray, list, list[str], str, list[str]]:
    """Images, labels, masks (or ``None``), sources, a description of the data and the names of
    its orphan mask files."""
    if phantoms is not None:
        if phantoms < 2:
            raise DataError(f"--phantoms needs at least 2 images, got {phantoms}")
        side = max(64, *classifier.preprocessing.input_size)
        data = make_phantoms(phantoms, side, seed=seed)
        data.description = f"{phantoms} phantoms ({side} px, seed {seed})"
    elif data is None:
        raise DataError("give a labelled folder, or --phantoms N")
    if isinstance(data, Phantoms):  # labels index CLASS_NAMES; the model's order may differ
        name = data.description or f"{len(data)} {data.kind}s"
        index = _stratified(data.labels, n, seed)
        labels = relabel(data.labels, CLASS_NAMES, classifier.class_names)
        return ([data.images[i] for i in index], labels[index],
                [data.masks[i] for i in index],
                [f"{data.kind}-{i:04d}-{CLASS_NAMES[data.labels[i]]}" for i in index], name, [])
    if not isinstance(data, ImageSet):
        # NAME_mask.png files are masks, never images
        data = load_folder(data, split="test", class_names=folder_classes(classifier.class_names))
    name = describe_data(data)
    data = data.relabel(classifier.class_names)  # labels matched to the model's classes by name
    index = _stratified(data.labels, n, seed)
    paths = [data.paths[i] for i in index]
    masks = [load_mask(data.masks[p]) if p in data.masks else None for p in paths]
    return (paths, data.labels[index], masks, [str(p) for p in paths], name,
            [p.name for p in data.orphan_masks])


def _mask_counts(class_names: Sequence[str], labels: np.ndarray, masks: Sequence[Any],
                 orphans: Sequence[str]) -> dict[str, Any]:
    """How many of the sampled images of each class have a mask (see :attr:`Audit.masks`)."""
    has = np.asarray([m is not None for m in masks], bool)
    labels = np.asarray(labels, int)
    return {"images_with_masks": int(has.sum()),
            "by_class": {c: {"images": int((labels == i).sum()),
                             "masks": int(has[labels == i].sum())}
                         for i, c in enumerate(class_names)},
            "orphans": list(orphans)}


def _stratified(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` indices with the classes in their proportions (scikit-learn), in a fixed order."""
    labels = np.asarray(labels)
    if n < 1:
        raise DataError(f"--n must be at least 1, got {n}")
    if n >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    classes = len(np.unique(labels))
    stratify = labels if (min(np.bincount(labels)[np.unique(labels)]) >= 2 and n >= classes
                          and len(labels) - n >= classes) else None
    chosen, _ = train_test_split(np.arange(len(labels)), train_size=n, stratify=stratify,
                                 random_state=seed)
    return np.sort(chosen)


def _mean(values: list) -> float | None:
    return float(np.mean(np.asarray(values, dtype=float))) if values else None


def _interval(values: list, seed: int) -> list[float] | None:
    """Percentile bootstrap 95% interval of the mean (SciPy)."""
    from scipy.stats import bootstrap

    x = np.asarray(values, dtype=float)
    if np.ptp(x) == 0:
        return [float(x[0]), float(x[0])]
    res = bootstrap((x,), np.mean, n_resamples=2000, method="percentile",
                    random_state=np.random.default_rng(seed))
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="image", file=sys.stderr, disable=not enabled or total == 0,
                dynamic_ncols=True, desc="auditing")
