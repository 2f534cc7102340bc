"""Many inputs -> explanations -> report files -> index: what ``xaixray explain`` does.

:func:`explain` returns the results in memory; :func:`explain_paths` explains image files and
writes one report folder per image, going on past files that cannot be read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..classifier import Classifier
from ..errors import ExplainerError, ImageError, about_input
from ..explainers import (
    DEFAULT_METHODS,
    ExplanationSet,
    PreparedImage,
    Target,
    check_methods,
    expand_targets,
    explain_image,
    make_explainers,
    resolve_target,
)
from ..imaging import ImageLike, anonymous_name, as_image_list
from ..metrics import faithfulness as measure_faithfulness
from ..reports import (
    FILES,
    anonymized,
    folder_names,
    prepare_folder,
    write_index,
    write_report,
)
from .shards import (
    clean_temporaries,
    index_entry,
    is_complete,
    shard_indices,
    write_shard_summary,
)

DEFAULT_OUT = "xaixray-out"
FAITHFULNESS = True
"""Whether reports measure how faithful each map is unless told (see docs/faithfulness.md)."""


def explain(classifier: Classifier, images: ImageLike | Iterable[ImageLike],
            methods: Sequence[str] | str = DEFAULT_METHODS,
            targets: Target | Sequence[Target] = None, seed: int = 0,
            params: Mapping[str, Mapping[str, Any]] | None = None,
            faithfulness: bool = FAITHFULNESS, **options: Any) -> list[ExplanationSet]:
    """Explain images with several methods in one call, in memory.

    Parameters
    ----------
    classifier
        A :class:`~xaixray.Classifier`.
    images
        One image (path, PIL image, array) or a list of them.
    methods
        Names from :data:`~xaixray.explainers.METHODS` (default Grad-CAM, LIME and SHAP).
    targets
        Class to explain (index or name; one for all images or one per image); ``None`` explains
        each image's predicted class.
    seed
        Seed for the sampling methods (same seed, same result).
    params
        Per-method parameters, e.g. ``{"shap": {"masker": "inpaint_telea"}}``.
    faithfulness
        Also measure how faithful each map is (deletion and insertion against random, border
        and outside-body shares: :func:`xaixray.metrics.faithfulness`) into each result's
        ``faithfulness``.
    options
        Shared method keywords (``num_samples``, ``max_evals``, ``layer``, ``batch_size``, ...),
        each passed to every selected method that accepts it.

    Returns
    -------
    list of ExplanationSet
        One per image. A method that cannot run (Grad-CAM on a model without convolutions) is
        recorded in ``errors`` and the others still run. Draw one with
        :func:`xaixray.plot_explanations`, write it with :func:`xaixray.write_report`.

    Raises
    ------
    ImageError
        If an image cannot be read (:func:`explain_paths` goes on past bad files).

    Examples
    --------
    >>> sets = explain(clf, ["a.jpeg", "b.jpeg"], num_samples=500)      # doctest: +SKIP
    >>> sets[0].explanations["gradcam"].heatmap.shape                    # doctest: +SKIP
    """
    order = check_methods(methods)
    explainers, errors = make_explainers(classifier, order, seed, params, **options)
    items = as_image_list(images)
    per_image = expand_targets(targets, len(items))
    for t in per_image:  # fail early on a bad class name
        if t is not None:
            resolve_target(classifier, t)
    results = []
    for item, t in zip(items, per_image):
        result = explain_image(classifier, item, explainers, errors, t, order)
        if faithfulness:
            result.faithfulness = measure_faithfulness(classifier, result, seed=seed)
        results.append(result)
    return results


@dataclass
class ExplainRun:
    """What :func:`explain_paths` wrote.

    Attributes
    ----------
    out
        The output folder.
    reports
        ``report.html`` of every image explained, in input order.
    index
        ``index.html`` (written when more than one image was given), else ``None``.
    failures
        One line per image that could not be explained.
    warnings
        One line per method that could not run (each message once).
    resumed
        How many of ``reports`` were complete already and skipped (``resume=True``).
    """

    out: Path
    reports: list[Path] = field(default_factory=list)
    index: Path | None = None
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    resumed: int = 0

    @property
    def ok(self) -> bool:
        """Whether every image was explained."""
        return not self.failures

    @property
    def main_page(self) -> Path | None:
        """The page to open: the index, or the only report."""
        return self.index or (self.reports[0] if self.reports else None)


def explain_paths(classifier: Classifier, paths: Sequence[str | os.PathLike],
                  out: str | os.PathLike = DEFAULT_OUT,
                  methods: Sequence[str] | str = DEFAULT_METHODS,
                  target: int | str | None = None, seed: int = 0, overwrite: bool = False,
                  progress: bool = False, on_message: Callable[[str], None] | None = None,
                  params: Mapping[str, Mapping[str, Any]] | None = None,
                  shard: tuple[int, int] | None = None, resume: bool = False,
                  anonymize: bool = False, faithfulness: bool = FAITHFULNESS,
                  **options: Any) -> ExplainRun:
    """Explain image files and write one report folder per image (plus ``index.html``).

    Parameters
    ----------
    classifier
        The :class:`~xaixray.Classifier` to explain.
    paths
        Image files. A file that cannot be read is recorded in ``failures`` and the run goes on.
    out
        Output folder; each image gets ``out/<file stem>/`` (deduplicated; with ``anonymize``
        its anonymous name) with ``figure.png``,
        ``report.json`` and ``report.html``. An existing non-empty folder is refused unless
        ``overwrite`` (which replaces xaixray's files and deletes nothing).
    methods
        Method names (list or comma-separated string).
    target
        Class to explain (index or name); ``None`` explains each image's predicted class.
    seed
        Seed for LIME and SHAP.
    overwrite
        Allow writing into an existing non-empty ``out``.
    progress
        Show a tqdm progress bar on stderr.
    on_message
        Called with each one-line failure or warning as it happens.
    anonymize
        Leave every path and file name out of what is written: each image is named (folder,
        figure, ``report.json``, ``report.html``, ``index.html``) by a hash of its pixels
        (:func:`~xaixray.imaging.anonymous_name`), and unreadable inputs are listed by number.
        ``failures`` and messages still name the files, for the person running it.
    faithfulness
        Measure how faithful each map is and add a "How faithful is each map?" section to each
        report (see :func:`explain`).
    params, options
        Method parameters, as in :func:`explain` (``num_samples=``,
        ``max_evals=``, ``layer=``...).
    shard
        ``(K, N)``: explain only every N-th path from the K-th (0-based). Folder names are
        computed over all ``paths``, so N shards writing into the same ``out`` explain every
        input exactly once. A shard writes ``out/_shards/K-of-N.json`` instead of an index;
        :func:`~xaixray.run.shards.index_reports` (``xaixray index``) merges them. An existing
        ``out`` is accepted; existing report folders are still never replaced without
        ``overwrite``.
    resume
        Skip inputs whose report folder is complete (all its files renamed into place) and
        holds this input's report; a complete folder of the same name holding another image's
        report is listed as a failure, never replaced. An existing ``out`` is accepted.

    Returns
    -------
    ExplainRun

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, after writing an index of the reports finished so far: each report folder
        appears complete or not at all, and no temporary file is left.
    ReportError
        If ``out`` cannot be used.
    ExplainerError
        If a method name or target is unknown, or no requested method can run on this model.
    """
    order = check_methods(methods)
    if target is not None:
        target = resolve_target(classifier, target)
    explainers, errors = make_explainers(classifier, order, seed, params, **options)
    if not explainers:
        raise ExplainerError("; ".join(f"{m}: {msg}" for m, msg in errors.items()))
    run = ExplainRun(prepare_folder(out, overwrite or resume or shard is not None))
    say = on_message or (lambda _msg: None)
    for m, msg in errors.items():
        run.warnings.append(f"{m}: {msg}")
        say(f"warning: {m}: {msg}")
    entries: list[dict] = []
    listed: list[str] = []  # failures as index.html lists them (anonymized: without paths)
    names = folder_names(paths)  # over every input, so that shards agree on them
    taken: set[str] = set()
    chosen = shard_indices(len(paths), shard)
    if resume and shard is None:  # no other process writes here: leftovers of a killed run
        clean_temporaries(out)

    def resumed(folder: Path, path: str | os.PathLike) -> bool:
        """Whether ``folder`` already holds this input's complete report (then skip it)."""
        if not (resume and is_complete(folder)):
            return False
        entry = index_entry(folder)
        if not anonymize and entry["source"] != str(path):  # the same stem, another image
            run.failures.append(f"{path}: {folder} holds the report of another image "
                                f"({entry['source']}); not replaced")
            listed.append(run.failures[-1])
            say(f"skipped {run.failures[-1]}")
        else:
            run.reports.append(folder / FILES["html"])
            entries.append(entry)
            run.resumed += 1
        bar.update()
        return True

    bar = _progress(len(chosen), progress)
    try:
        for i in chosen:
            path, name = paths[i], names[i]
            bar.set_postfix_str(_short(Path(path).name), refresh=False)
            label = str(path)
            with about_input(path):
                if not anonymize and resumed(Path(out) / name, path):
                    continue
                try:
                    image = PreparedImage.load(classifier, path)
                except ImageError as exc:
                    run.failures.append(str(exc))
                    listed.append(_without(str(exc), path, f"input {i + 1}") if anonymize
                                  else str(exc))
                    say(f"skipped {exc}")
                    bar.update()
                    continue
                if anonymize:  # the folder is named by the pixels, known once decoded
                    label = name = _distinct(anonymous_name(image.original), taken)
                    if resumed(Path(out) / name, path):
                        continue
                result = explain_image(classifier, image, explainers, errors, target, order)
                if faithfulness:
                    result.faithfulness = measure_faithfulness(classifier, result, seed=seed)
                if anonymize:
                    result = anonymized(result)
                for m, msg in result.errors.items():
                    line = f"{m}: {msg}"
                    if m not in errors and line not in run.warnings:
                        run.warnings.append(line)
                        say(f"warning: {path}: {line}")
                try:
                    page = write_report(result, Path(out) / name, overwrite=overwrite)
                except (OSError, ValueError) as exc:  # ReportError is an OSError
                    run.failures.append(f"{path}: report not written ({exc})")
                    listed.append(f"{label}: report not written" if anonymize
                                  else run.failures[-1])
                    say(f"skipped {path}: report not written ({exc})")
                    bar.update()
                    continue
                run.reports.append(page)
                entries.append(index_entry(page.parent))
                bar.update()
    except KeyboardInterrupt:  # Ctrl-C: the finished reports are complete; record them, stop
        if shard is not None:
            write_shard_summary(Path(out), shard, run.reports, listed, run.warnings,
                                expected=len(chosen), interrupted=True)
        elif len(paths) > 1 and entries:
            run.index = write_index(out, entries, listed,
                                    title=f"xaixray explanations: {classifier.name} "
                                          f"(interrupted after {len(entries)})")
        raise
    finally:
        bar.close()
    if shard is not None:
        write_shard_summary(Path(out), shard, run.reports, listed, run.warnings,
                            expected=len(chosen))
    elif len(paths) > 1:
        run.index = write_index(out, entries, listed,
                                title=f"xaixray explanations: {classifier.name}")
    return run


def _without(message: str, path: str | os.PathLike, instead: str) -> str:
    """``message`` with the path it starts with replaced by ``instead``."""
    for prefix in (f"{path}: ", f"{Path(path)}: "):
        if message.startswith(prefix):
            return f"{instead}: {message[len(prefix):]}"
    return instead


def _distinct(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... if taken (identical images)."""
    out, k = name, 2
    while out in taken:
        out, k = f"{name}-{k}", k + 1
    taken.add(out)
    return out


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="image", file=sys.stderr, disable=not enabled or total == 0,
                dynamic_ncols=True, desc="explaining")
