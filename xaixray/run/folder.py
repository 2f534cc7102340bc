"""Image files -> report folders -> index: the folder run of ``xaixray explain``.

:func:`explain_paths` takes the inputs in blocks of :data:`CHUNK`. Each block goes through five
stages, each one method of :class:`_FolderRun`:

1. **read**: a thread decodes and frames the next files while the model works (:func:`_reader`);
2. **prepare**: inputs whose report exists already are skipped, unreadable files listed, the
   rest stacked into one :class:`~xaixray.explainers.PreparedImage` batch;
3. **explain**: every method over the whole block;
4. **measure**: the faithfulness of every map of the block, its curves scored in shared batches
   (:func:`~xaixray.metrics.summary.faithfulness_many`);
5. **write**: threads draw and write the reports while the model works on the next block;
   outcomes are recorded in input order.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    check_methods,
    explain_images,
    make_explainers,
    resolve_target,
)
from ..files import to_json
from ..imaging import anonymous_name, load_image
from ..metrics.summary import faithfulness_many
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
"""Images a folder run explains together (Grad-CAM shares one pass between them, and the
faithfulness curves of the block are scored in shared batches)."""
WRITERS = min(4, (os.cpu_count() or 1) + 1)
"""Threads that draw and write reports while the model works on the next images: one more than
the cores, because a thread spends part of its time in code that releases Python's lock (PNG
compression, file writes). On 2 cores, 3 threads wrote 312 reports 10-18% faster than one
(docs/speed.md)."""
FAITHFULNESS = True
"""Whether reports measure how faithful each map is unless told (see docs/faithfulness.md)."""


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
        report (see :func:`~xaixray.run.explain`).
    params, options
        Method parameters, as in :func:`~xaixray.run.explain` (``num_samples=``,
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
    folder = _FolderRun(classifier, paths, Path(out), order, explainers, errors, target, seed,
                        overwrite=overwrite, resume=resume, shard=shard, anonymize=anonymize,
                        faithfulness=faithfulness, say=on_message or (lambda _msg: None))
    return folder.go(progress)


@dataclass
class _Input:
    """An input that was read and is to be explained: its outcome slot, file and pixels."""

    slot: int
    path: str | os.PathLike
    name: str
    original: np.ndarray
    box: Any
    fitted: np.ndarray


class _FolderRun:
    """The state of one :func:`explain_paths` run and its stages (see the module docstring)."""

    def __init__(self, classifier: Classifier, paths: Sequence[str | os.PathLike], out: Path,
                 order: list[str], explainers: dict, errors: dict[str, str],
                 target: int | None, seed: int, *, overwrite: bool, resume: bool,
                 shard: tuple[int, int] | None, anonymize: bool, faithfulness: bool,
                 say: Callable[[str], None]) -> None:
        self.classifier, self.paths, self.out = classifier, paths, out
        self.order, self.explainers, self.errors = order, explainers, errors
        self.target, self.seed, self.faithfulness = target, seed, faithfulness
        self.overwrite, self.resume, self.shard, self.anonymize = (overwrite, resume, shard,
                                                                   anonymize)
        self.say = say
        self.run = ExplainRun(prepare_folder(out, overwrite or resume or shard is not None))
        for m, msg in errors.items():
            self.run.warnings.append(f"{m}: {msg}")
            say(f"warning: {m}: {msg}")
        self.entries: list[dict] = []
        self.listed: list[str] = []  # failures as index.html lists them (anonymized: no paths)
        self.names = folder_names(paths)  # over every input, so that shards agree on them
        self.taken: set[str] = set()
        self.chosen = shard_indices(len(paths), shard)
        if resume and shard is None:  # no other process writes here: leftovers of a killed run
            clean_temporaries(out)
        # inputs whose folder is complete already are looked at again in order below; with
        # anonymize the folder is named by the pixels, known only once the image is decoded
        self.complete = {i for i in self.chosen
                         if resume and not anonymize and is_complete(out / self.names[i])}
        # anonymized shards cannot see each other's images: identical pixels in two shards
        # get the same folder, and the second shard takes the first one's report when it was
        # made by this model with these methods (never a stale one of another run)
        self.sharing = anonymize and shard is not None and not overwrite and not resume
        self.model = json.loads(to_json(classifier.metadata()))  # as report.json holds them
        self.params = {m: json.loads(to_json(e.params)) for m, e in explainers.items()}
        # every input's outcome, in input order: a slot is taken when the input is reached
        # and filled when its report is under way (None until then)
        self.outcomes: list[tuple[str | os.PathLike, str, Future] | None] = []
        self.recorded = 0  # how many of them are in run.reports / run.failures
        self.writers = ThreadPoolExecutor(WRITERS, thread_name_prefix="xaixray-write")

    def go(self, progress: bool) -> ExplainRun:
        """Every block through the five stages; then the index (or the shard's summary)."""
        self.bar = _progress(len(self.chosen), progress)
        started = time.perf_counter()
        reader = ThreadPoolExecutor(1, thread_name_prefix="xaixray-read")
        try:
            decoded = _ahead(reader, _reader(self.classifier),
                             [self.paths[i] for i in self.chosen if i not in self.complete],
                             2 * CHUNK)
            for block in _chunks(self.chosen, CHUNK):
                ready = self.prepare(block, decoded)
                if ready:
                    results = self.explain(ready)
                    if self.faithfulness:
                        self.measure(ready, results)
                    self.write(ready, results)
                self.collect(keep=CHUNK)  # writing may lag the model by one block (memory)
            self.collect(keep=0)
        except KeyboardInterrupt:  # Ctrl-C: the finished reports are complete; record them
            self.writers.shutdown(wait=True, cancel_futures=True)
            self.record_finished()
            self.finish(interrupted=True)
            raise
        finally:
            reader.shutdown(wait=True, cancel_futures=True)
            self.writers.shutdown(wait=True, cancel_futures=True)
            self.bar.close()
            self.run.seconds = time.perf_counter() - started
        self.finish()
        return self.run

    # -- stage 2: prepare ----------------------------------------------------------------

    def prepare(self, block: list[int], decoded: Iterator[Any]) -> list[_Input]:
        """Take a slot for every input of ``block``; return those that are to be explained.

        Inputs with a complete report (``resume``, or another shard's identical pixels) and
        unreadable files get their outcome at once.
        """
        ready = []
        for i in block:
            path, name = self.paths[i], self.names[i]
            self.bar.set_postfix_str(_short(Path(path).name), refresh=False)
            slot = len(self.outcomes)
            self.outcomes.append(None)
            if i in self.complete:
                self.settle(slot, path, name, self.finished(self.out / name, path))
                continue
            read = next(decoded)
            if isinstance(read, ImageError):
                listed_as = (_without(str(read), path, f"input {i + 1}") if self.anonymize
                             else str(read))
                self.settle(slot, path, name, ("failure", str(read), listed_as))
                continue
            original, box, fitted = read
            if self.anonymize:
                name = _distinct(anonymous_name(original), self.taken)
                if self.resume and is_complete(self.out / name):
                    self.settle(slot, path, name, self.finished(self.out / name, path))
                    continue
                if self.sharing and self.same_run(self.out / name):
                    self.settle(slot, path, name, self.shared(self.out / name))
                    continue
            ready.append(_Input(slot, path, name, original, box, fitted))
        return ready

    # -- stage 3: explain ----------------------------------------------------------------

    def explain(self, ready: list[_Input]) -> list[ExplanationSet]:
        """Every method over the block's images, in one batch."""
        with about_input(_block_name(ready)):
            images = PreparedImage.load_many(self.classifier, [r.original for r in ready],
                                             [str(r.path) for r in ready],
                                             np.stack([r.fitted for r in ready]),
                                             [r.box for r in ready])
            return explain_images(self.classifier, images, self.explainers, self.errors,
                                  [self.target] * len(images), self.order)

    # -- stage 4: measure ----------------------------------------------------------------

    def measure(self, ready: list[_Input], results: list[ExplanationSet]) -> None:
        """The faithfulness of every map of the block, into each result."""
        with about_input(_block_name(ready)):
            found = faithfulness_many(self.classifier, results, seed=self.seed)
        for result, faith in zip(results, found):
            result.faithfulness = faith

    # -- stage 5: write ------------------------------------------------------------------

    def write(self, ready: list[_Input], results: list[ExplanationSet]) -> None:
        """Hand each report to a writing thread; say each new method warning once."""
        for r, result in zip(ready, results):
            if self.anonymize:
                result = anonymized(result)
            for m, msg in result.errors.items():
                line = f"{m}: {msg}"
                if m not in self.errors and line not in self.run.warnings:
                    self.run.warnings.append(line)
                    self.say(f"warning: {r.path}: {line}")
            self.outcomes[r.slot] = (r.path, r.name,
                                     self.writers.submit(self.write_one, result,
                                                         self.out / r.name, r.path))

    def write_one(self, result: ExplanationSet, folder: Path, path: str | os.PathLike
                  ) -> tuple:
        """Write one report (in a writing thread): the outcome ``(kind, page, entry)``."""
        with about_input(path):
            try:
                page = write_report(result, folder, overwrite=self.overwrite)
            except ReportError:
                if self.sharing and self.same_run(folder):  # another shard wrote it meanwhile
                    return self.shared(folder)
                raise
            return ("report", page, index_entry(page.parent))

    # -- outcomes, in input order ------------------------------------------------------

    def settle(self, slot: int, path: str | os.PathLike, name: str, outcome: tuple) -> None:
        self.outcomes[slot] = (path, name, _done(outcome))

    def finished(self, folder: Path, path: str | os.PathLike) -> tuple:
        """The outcome for an input whose ``folder`` holds a complete report already."""
        with about_input(path):
            entry = index_entry(folder)
        if not self.anonymize and entry["source"] != str(path):  # the same stem, another image
            message = (f"{path}: {folder} holds the report of another image "
                       f"({entry['source']}); not replaced")
            return ("failure", message, message)
        return ("resumed", folder / FILES["html"], entry)

    def same_run(self, folder: Path) -> bool:
        """Whether ``folder`` holds a complete report of this model with these methods."""
        if not is_complete(folder):
            return False
        report = json.loads((folder / FILES["json"]).read_text(encoding="utf-8"))
        methods = report.get("methods") or {}
        return (report.get("model") == self.model
                and sorted([*methods, *(report.get("errors") or {})]) == sorted(self.order)
                and all(self.params.get(m) == d.get("params") for m, d in methods.items()))

    def shared(self, folder: Path) -> tuple:
        return ("shared", folder / FILES["html"], index_entry(folder))

    def record(self, path: str | os.PathLike, label: str, future: Future, quiet: bool) -> None:
        try:
            kind, first, second = future.result()
        except (OSError, ValueError) as exc:  # ReportError is an OSError
            kind, first = "failure", f"{path}: report not written ({exc})"
            second = f"{label}: report not written" if self.anonymize else first
        if kind == "failure":
            self.run.failures.append(first)
            self.listed.append(second)
            if not quiet:
                self.say(f"skipped {first}")
        else:
            self.run.reports.append(first)
            self.entries.append(second)
            self.run.resumed += kind == "resumed"
            self.run.shared += kind == "shared"

    def collect(self, keep: int) -> None:
        """Record finished outcomes in input order, waiting while more than ``keep`` pend."""
        outcomes = self.outcomes
        while (self.recorded < len(outcomes) and outcomes[self.recorded] is not None
               and (len(outcomes) - self.recorded > keep
                    or outcomes[self.recorded][2].done())):
            self.record(*outcomes[self.recorded], quiet=False)
            self.recorded += 1
            self.bar.update()

    def record_finished(self) -> None:
        """After an interrupt: every outcome that finished, recorded anew in input order."""
        for items in (self.run.reports, self.entries, self.run.failures, self.listed):
            items.clear()
        self.run.resumed = self.run.shared = 0
        for k, outcome in enumerate(self.outcomes):
            if outcome is None or not outcome[2].done() or outcome[2].cancelled():
                continue
            exc = outcome[2].exception()
            if exc is None or isinstance(exc, (OSError, ValueError)):  # what record() handles
                self.record(*outcome, quiet=k < self.recorded)

    def finish(self, interrupted: bool = False) -> None:
        """The shard's summary, or ``index.html`` for more than one input."""
        run = self.run
        if self.shard is not None:
            write_shard_summary(self.out, self.shard, run.reports, self.listed, run.warnings,
                                expected=len(self.chosen), interrupted=interrupted)
        elif interrupted and len(self.paths) > 1 and self.entries:
            run.index = write_index(self.out, self.entries, self.listed,
                                    title=f"xaixray explanations: {self.classifier.name} "
                                          f"(interrupted after {len(self.entries)})")
        elif not interrupted and len(self.paths) > 1:
            run.index = write_index(self.out, self.entries, self.listed,
                                    title=f"xaixray explanations: {self.classifier.name}")


# -- stage 1: read (in a thread) -------------------------------------------------------------


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


def _block_name(ready: list[_Input]) -> str:
    """How an error about a whole block names its inputs."""
    first = str(ready[0].path)
    return first if len(ready) == 1 else f"{first} and the {len(ready) - 1} inputs after it"


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
