"""Many inputs -> explanations -> report files -> index: what ``xaixray explain`` does.

:func:`explain` returns the results in memory; :func:`explain_paths` explains image files and
writes one report folder per image, going on past files that cannot be read.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError, ImageError, about_input
from ..explainers import (
    DEFAULT_METHODS,
    ExplanationSet,
    PreparedImage,
    Target,
    check_methods,
    expand_targets,
    explain_images,
    make_explainers,
    resolve_target,
)
from ..files import to_json
from ..imaging import ImageLike, anonymous_name, as_image_list, describe, load_image
from ..metrics import faithfulness as measure_faithfulness
from ..reports import (
    FILES,
    ReportError,
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
CHUNK = 16
"""Images a folder run explains together (Grad-CAM shares one pass between them)."""
WRITERS = min(4, (os.cpu_count() or 1) + 1)
"""Threads that draw and write reports while the model works on the next images: one more than
the cores, because a thread spends part of its time in code that releases Python's lock (PNG
compression, file writes). On 2 cores, 3 threads wrote 312 reports 10-18% faster than one
(docs/speed.md)."""
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
    for start in range(0, len(items), CHUNK):
        block = items[start:start + CHUNK]
        images = PreparedImage.load_many(classifier, [load_image(i) for i in block],
                                         [describe(i) for i in block])
        for result in explain_images(classifier, images, explainers, errors,
                                     per_image[start:start + CHUNK], order):
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
    shared
        How many of ``reports`` are the report of identical pixels that another shard of an
        anonymized run wrote with the same model and methods.
    seconds
        Wall time of the run, from the first image read to the last report written.
    """

    out: Path
    reports: list[Path] = field(default_factory=list)
    index: Path | None = None
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    resumed: int = 0
    shared: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Reports written per second (reports kept by ``resume`` or shared not counted)."""
        made = len(self.reports) - self.resumed - self.shared
        return made / self.seconds if self.seconds > 0 else 0.0

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
        Identical images get ``-2``, ``-3``... in one run; in different shards (which cannot
        see each other's images) they share the one report folder.
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
    # inputs whose folder is complete already are looked at again in order below; with
    # anonymize the folder is named by the pixels, known only once the image is decoded
    complete = {i for i in chosen
                if resume and not anonymize and is_complete(Path(out) / names[i])}

    def finished(folder: Path, path: str | os.PathLike) -> tuple:
        """The outcome for an input whose ``folder`` holds a complete report already."""
        entry = index_entry(folder)
        if not anonymize and entry["source"] != str(path):  # the same stem, another image
            message = (f"{path}: {folder} holds the report of another image "
                       f"({entry['source']}); not replaced")
            return ("failure", message, message)
        return ("resumed", folder / FILES["html"], entry)

    # anonymized shards cannot see each other's images: identical pixels in two shards get
    # the same folder, and the second shard takes the first one's report when it was made by
    # this model with these methods (never a stale one of another run)
    sharing = anonymize and shard is not None and not overwrite and not resume
    wanted = sorted(order)
    model = json.loads(to_json(classifier.metadata()))  # as report.json holds them
    params = {m: json.loads(to_json(e.params)) for m, e in explainers.items()}

    def same_run(folder: Path) -> bool:
        if not is_complete(folder):
            return False
        report = json.loads((folder / FILES["json"]).read_text(encoding="utf-8"))
        methods = report.get("methods") or {}
        return (report.get("model") == model
                and sorted([*methods, *(report.get("errors") or {})]) == wanted
                and all(params.get(m) == d.get("params") for m, d in methods.items()))

    def shared(folder: Path) -> tuple:
        return ("shared", folder / FILES["html"], index_entry(folder))

    def write(result: ExplanationSet, folder: Path, path: str | os.PathLike) -> tuple:
        with about_input(path):
            try:
                page = write_report(result, folder, overwrite=overwrite)
            except ReportError:
                if sharing and same_run(folder):  # another shard wrote it meanwhile
                    return shared(folder)
                raise
            return ("report", page, index_entry(page.parent))

    # every input's outcome, in input order: a slot is taken when the input is reached and
    # filled when its report is under way (None until then)
    outcomes: list[tuple[str | os.PathLike, str, Future] | None] = []
    recorded = 0  # how many of them are in run.reports / run.failures

    def record(path: str | os.PathLike, label: str, future: Future, quiet: bool) -> None:
        try:
            kind, first, second = future.result()
        except (OSError, ValueError) as exc:  # ReportError is an OSError
            kind, first = "failure", f"{path}: report not written ({exc})"
            second = f"{label}: report not written" if anonymize else first
        if kind == "failure":
            run.failures.append(first)
            listed.append(second)
            if not quiet:
                say(f"skipped {first}")
        else:
            run.reports.append(first)
            entries.append(second)
            run.resumed += kind == "resumed"
            run.shared += kind == "shared"

    def collect(keep: int) -> None:
        """Record finished outcomes in input order, waiting while more than ``keep`` pend."""
        nonlocal recorded
        while (recorded < len(outcomes) and outcomes[recorded] is not None
               and (len(outcomes) - recorded > keep or outcomes[recorded][2].done())):
            record(*outcomes[recorded], quiet=False)
            recorded += 1
            bar.update()

    def record_finished() -> None:
        """After an interrupt: every outcome that finished, recorded anew in input order."""
        for items in (run.reports, entries, run.failures, listed):
            items.clear()
        run.resumed = run.shared = 0
        for k, outcome in enumerate(outcomes):
            if outcome is None or not outcome[2].done() or outcome[2].cancelled():
                continue
            exc = outcome[2].exception()
            if exc is None or isinstance(exc, (OSError, ValueError)):  # what record() handles
                record(*outcome, quiet=k < recorded)

    bar = _progress(len(chosen), progress)
    started = time.perf_counter()
    reader = ThreadPoolExecutor(1, thread_name_prefix="xaixray-read")
    writers = ThreadPoolExecutor(WRITERS, thread_name_prefix="xaixray-write")
    try:
        decoded = _ahead(reader, _reader(classifier),
                         [paths[i] for i in chosen if i not in complete], 2 * CHUNK)
        for block in _chunks(chosen, CHUNK):
            ready: list[tuple[int, str | os.PathLike, str, np.ndarray, Any, np.ndarray]] = []
            for i in block:
                path, name = paths[i], names[i]
                bar.set_postfix_str(_short(Path(path).name), refresh=False)
                slot = len(outcomes)
                outcomes.append(None)
                if i in complete:
                    with about_input(path):
                        outcomes[slot] = (path, name, _done(finished(Path(out) / name, path)))
                    continue
                read = next(decoded)
                if isinstance(read, ImageError):
                    listed_as = (_without(str(read), path, f"input {i + 1}") if anonymize
                                 else str(read))
                    outcomes[slot] = (path, name, _done(("failure", str(read), listed_as)))
                    continue
                original, box, fitted = read
                if anonymize:
                    name = _distinct(anonymous_name(original), taken)
                    if resume and is_complete(Path(out) / name):
                        with about_input(path):
                            outcomes[slot] = (path, name,
                                              _done(finished(Path(out) / name, path)))
                        continue
                    if sharing and same_run(Path(out) / name):
                        outcomes[slot] = (path, name,
                                          _done(shared(Path(out) / name)))
                        continue
                ready.append((slot, path, name, original, box, fitted))
            if ready:
                block_name = (ready[0][1] if len(ready) == 1
                              else f"{ready[0][1]} and the {len(ready) - 1} inputs after it")
                with about_input(block_name):
                    images = PreparedImage.load_many(classifier, [r[3] for r in ready],
                                                     [str(r[1]) for r in ready],
                                                     np.stack([r[5] for r in ready]),
                                                     [r[4] for r in ready])
                    results = explain_images(classifier, images, explainers, errors,
                                             [target] * len(images), order)
                for (slot, path, name, *_), result in zip(ready, results):
                    with about_input(path):
                        if faithfulness:
                            result.faithfulness = measure_faithfulness(classifier, result,
                                                                       seed=seed)
                    if anonymize:
                        result = anonymized(result)
                    for m, msg in result.errors.items():
                        line = f"{m}: {msg}"
                        if m not in errors and line not in run.warnings:
                            run.warnings.append(line)
                            say(f"warning: {path}: {line}")
                    outcomes[slot] = (path, name,
                                      writers.submit(write, result, Path(out) / name, path))
            collect(keep=CHUNK)  # writing may lag the model by one block (memory: full-size maps)
        collect(keep=0)
    except KeyboardInterrupt:  # Ctrl-C: the finished reports are complete; record them, stop
        writers.shutdown(wait=True, cancel_futures=True)
        record_finished()
        if shard is not None:
            write_shard_summary(Path(out), shard, run.reports, listed, run.warnings,
                                expected=len(chosen), interrupted=True)
        elif len(paths) > 1 and entries:
            run.index = write_index(out, entries, listed,
                                    title=f"xaixray explanations: {classifier.name} "
                                          f"(interrupted after {len(entries)})")
        raise
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        writers.shutdown(wait=True, cancel_futures=True)
        bar.close()
        run.seconds = time.perf_counter() - started
    if shard is not None:
        write_shard_summary(Path(out), shard, run.reports, listed, run.warnings,
                            expected=len(chosen))
    elif len(paths) > 1:
        run.index = write_index(out, entries, listed,
                                title=f"xaixray explanations: {classifier.name}")
    return run


def _reader(classifier: Classifier) -> Callable[[str | os.PathLike], Any]:
    """``read(path)``: the decoded image, its crop box and its model-frame version, or the error
    that says why the file cannot be read. Runs in a thread, beside the model."""
    def read(path: str | os.PathLike) -> tuple[np.ndarray, Any, np.ndarray] | ImageError:
        with about_input(path):
            try:
                original = load_image(path)
            except ImageError as exc:
                return exc
            box = classifier.preprocessing.crop_box(original)
            return original, box, classifier.preprocessing.prepare([original], [box])[0]

    return read


def _ahead(pool: ThreadPoolExecutor, fn: Callable[[Any], Any], items: Sequence[Any],
           ahead: int) -> Iterator[Any]:
    """``fn(item)`` for each item, in order, computed up to ``ahead`` items in advance."""
    futures: deque[Future] = deque()
    for item in items:
        futures.append(pool.submit(fn, item))
        if len(futures) > ahead:
            yield futures.popleft().result()
    while futures:
        yield futures.popleft().result()


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _done(value: Any) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


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
