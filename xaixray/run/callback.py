"""A Keras callback that explains a few fixed images while a model trains.

Every ``every`` epochs, :class:`ExplanationCallback` explains the same images on the model's
current weights and writes the maps to a TensorBoard log folder (``tf.summary.image``: the Images
tab shows them epoch by epoch) or as figure PNGs into a folder. With ``faithfulness=True`` it
also records, per epoch, whether each map beats random on deletion and insertion and how much of
its weight lies in the image border and outside the body, so that a shortcut the model picks up
during training shows as a rising curve (``faithfulness.csv`` and TensorBoard scalars).

Training is not changed: the explainers read the live weights without writing them (Grad-CAM
runs a private clone through ``stateless_call`` with ``training=False``; predictions use the
inference pass, so batch-normalisation statistics are not updated), and the global random states
(Python's, NumPy's) are put back after each round, so the weights after an
epoch are bit-identical with and without the callback (``tests/test_training_callback.py``).

This module imports Keras; ``import xaixray`` and ``xaixray.run`` do not load it.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ..classifier import Classifier
from ..data.inputs import list_folder
from ..errors import DataError, XaixrayError
from ..explainers import (
    ExplanationSet,
    PreparedImage,
    check_methods,
    explain_images,
    make_explainers,
)
from ..imaging import ImageLike, as_image_list, describe, load_image
from ..metrics import faithfulness as measure_faithfulness
from ..plots import figure_to_png, plot_explanations
from ..reports import atomic_write, folder_names

MAX_IMAGES = 16
"""Most images a callback explains each time (it runs between epochs: keep it small)."""
DPI = 72
"""Resolution of the logged figures."""
COLUMNS = ("epoch", "image", "method", "target", "probability", "faithful", "verdict",
           "deletion_auc", "deletion_auc_random", "insertion_auc", "insertion_auc_random",
           "border_share", "outside_body_share")
"""The columns of ``faithfulness.csv``: one row per logged epoch, image and method."""


def image_inputs(images: Any) -> list:
    """The callback's images: a folder (its image files, sorted, ``NAME_mask.png`` files left
    out), paths or arrays."""
    if isinstance(images, (str, os.PathLike)) and Path(images).is_dir():
        folder = Path(images)
        found = list_folder(folder).images
        if not found:
            raise DataError(f"{folder}: no image files to explain while training")
        return found
    return as_image_list(images)


class ExplanationCallback(keras.callbacks.Callback):
    """Explain fixed images every ``every`` epochs and log the maps.

    Parameters
    ----------
    images
        A few images: paths, arrays, or a folder of image files (at most :data:`MAX_IMAGES`).
    methods
        Explanation methods (default Grad-CAM, which is cheap).
    every
        Explain at the end of every ``every``-th epoch (epochs 1-based: ``every=2`` logs epochs
        2, 4, ...).
    log_dir
        A TensorBoard log folder: the figures go to its ``explanations`` run as image summaries
        (one per image, stepped by epoch), and with ``faithfulness`` the per-method means as
        scalars.
    out_dir
        A folder for one figure PNG per image and logged epoch
        (``epoch-003-NAME.png``) and, with ``faithfulness``, ``faithfulness.csv``.
    classifier
        The :class:`~xaixray.Classifier` whose Keras model trains (its preprocessing and class
        names are used). Default: the training model wrapped by
        :meth:`~xaixray.Classifier.from_keras`.
    faithfulness
        Also measure each map (deletion and insertion against random, border and outside-body
        shares; :func:`xaixray.metrics.faithfulness`) and record it per epoch.
    seed
        Seed of the sampling methods and of the faithfulness metrics.
    params, options
        Method parameters, as in :func:`xaixray.explain`.

    Attributes
    ----------
    rows
        With ``faithfulness``: the rows of ``faithfulness.csv`` as dicts (see :data:`COLUMNS`).
    logged_epochs
        The epochs (1-based) explained so far.

    Examples
    --------
    >>> cb = xaixray.ExplanationCallback("fixed/", every=2, log_dir="logs/")  # doctest: +SKIP
    >>> model.fit(x, y, epochs=10, callbacks=[cb])                          # doctest: +SKIP
    """

    def __init__(self, images: ImageLike | Sequence[ImageLike] | str | os.PathLike,
                 methods: Sequence[str] | str = ("gradcam",), every: int = 1,
                 log_dir: str | os.PathLike | None = None,
                 out_dir: str | os.PathLike | None = None, *,
                 classifier: Classifier | None = None, faithfulness: bool = False,
                 seed: int = 0, params: Mapping[str, Mapping[str, Any]] | None = None,
                 **options: Any) -> None:
        super().__init__()
        if int(every) < 1:
            raise XaixrayError(f"every must be at least 1 epoch, got {every}")
        if log_dir is None and out_dir is None:
            raise XaixrayError("ExplanationCallback needs log_dir (TensorBoard) or out_dir "
                               "(figure PNGs)")
        if log_dir is not None and importlib.util.find_spec("tensorboard") is None:
            raise XaixrayError("ExplanationCallback(log_dir=...) writes TensorBoard summaries, "
                               "which need TensorBoard: pip install 'xaixray[tensorboard]' (or "
                               "give out_dir for figure PNGs)")
        items = image_inputs(images)
        if not items:
            raise DataError("ExplanationCallback needs at least one image")
        if len(items) > MAX_IMAGES:
            raise DataError(f"ExplanationCallback explains at most {MAX_IMAGES} images each "
                            f"time, got {len(items)}; choose a few")
        self.methods = check_methods(methods)
        self.every = int(every)
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.classifier = classifier
        self.faithfulness = bool(faithfulness)
        self.seed = int(seed)
        # not ``self.params``: Keras sets that to the fit's parameters
        self.method_params, self.method_options = params, options
        self.originals = [load_image(i) for i in items]
        self.sources = [describe(i) for i in items]
        self.names = folder_names(self.sources)
        self.rows: list[dict[str, Any]] = []
        self.logged_epochs: list[int] = []
        self._clf: Classifier | None = None
        self._explainers: dict = {}
        self._errors: dict = {}
        self._writer: Any = None

    # ------------------------------------------------------------------ Keras hooks
    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        """Wrap the training model and prepare the explainers and the outputs."""
        clf = self.classifier
        if clf is None:
            clf = Classifier.from_keras(self.model)
        elif clf.model is not self.model:
            raise XaixrayError("ExplanationCallback: the classifier given is not the model "
                               "being trained")
        self._clf = clf
        with _random_state_kept():
            self._explainers, self._errors = make_explainers(
                clf, self.methods, self.seed, self.method_params, **self.method_options)
        if not self._explainers:
            raise XaixrayError("ExplanationCallback: " + "; ".join(
                f"{m}: {msg}" for m, msg in self._errors.items()))
        for folder in (self.out_dir, self.log_dir):
            if folder is not None:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise XaixrayError(f"{folder}: cannot create ({exc.strerror or exc})") \
                        from None
        if self.log_dir is not None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(str(self.log_dir / "explanations"))

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Explain the images when ``epoch + 1`` is a multiple of ``every``."""
        step = epoch + 1
        if step % self.every:
            return
        with _random_state_kept():
            results = self.explain()
            figures = [figure_to_png(plot_explanations(r, max_side=384, dpi=DPI))
                       for r in results]
        rows = [row for r, name in zip(results, self.names) for row in _rows(step, name, r)]
        self.rows += rows
        self.logged_epochs.append(step)
        if self.out_dir is not None:
            for name, png in zip(self.names, figures):
                atomic_write(self.out_dir / f"epoch-{step:03d}-{name}.png", png)
        if self.faithfulness:
            atomic_write((self.out_dir or self.log_dir) / "faithfulness.csv", _csv(self.rows))
        if self._writer is not None:
            self._log_tensorboard(step, figures, rows)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        """Close the TensorBoard writer."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # ------------------------------------------------------------------ work
    def explain(self) -> list[ExplanationSet]:
        """The fixed images explained on the model's current weights (and measured, with
        ``faithfulness``)."""
        if self._clf is None:
            raise XaixrayError("ExplanationCallback: training has not started")
        prepared = PreparedImage.load_many(self._clf, self.originals, self.sources)
        results = explain_images(self._clf, prepared, self._explainers, self._errors,
                                 None, self.methods)
        if self.faithfulness:
            for r in results:
                r.faithfulness = measure_faithfulness(self._clf, r, seed=self.seed)
        return results

    def _log_tensorboard(self, step: int, figures: list[bytes],
                         rows: list[dict[str, Any]]) -> None:
        import tensorflow as tf

        with self._writer.as_default(step=step):
            for name, png in zip(self.names, figures):
                tf.summary.image(f"maps/{name}", tf.io.decode_png(png, channels=3)[None],
                                 description="xaixray maps of this image at this epoch")
            for m in self.methods:
                mine = [r for r in rows if r["method"] == m]
                for key in ("border_share", "outside_body_share"):
                    values = [r[key] for r in mine if r[key] is not None]
                    if values:
                        tf.summary.scalar(f"{m}/{key}", float(np.mean(values)))
                verdicts = [r["faithful"] for r in mine if r["faithful"] is not None]
                if verdicts:
                    tf.summary.scalar(f"{m}/faithful_share", float(np.mean(verdicts)))
        self._writer.flush()


def _rows(epoch: int, name: str, result: ExplanationSet) -> list[dict[str, Any]]:
    faith = (result.faithfulness or {}).get("methods", {})
    rows = []
    for m, d in faith.items():
        rows.append({"epoch": epoch, "image": name, "method": m, "target": d["target_name"],
                     "probability": result.probability, "faithful": bool(d["faithful"]),
                     "verdict": d["verdict"],
                     **{k: d.get(k) for k in COLUMNS[7:]}})
    return rows


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


@contextmanager
def _random_state_kept() -> Iterator[None]:
    """Put Python's and NumPy's global random states back afterwards: building the explainers'
    private model clone draws from Python's (Keras seeds the clone's layers from it), and
    training must draw the same numbers with and without the callback."""
    py, npy = random.getstate(), np.random.get_state()  # noqa: NPY002 - the global one
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(npy)  # noqa: NPY002
