"""Predicting many image files, in chunks, going on past files that cannot be read."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..classifier import Classifier
from ..data import decode_images
from ..prediction_sets import sets_or_none

CHUNK = 64


@dataclass(frozen=True)
class FilePrediction:
    """The prediction for one image file, or why there is none.

    Attributes
    ----------
    path
        The image file.
    probabilities
        ``{class name: probability}``, empty when the file could not be read.
    prediction
        The predicted class name (``classifier.decide``), ``None`` when it could not be read.
    error
        The one-line reason the file could not be read, else ``None``.
    prediction_set
        The conformal prediction set (class names) when the model carries conformal quantiles
        (``xaixray calibrate --conformal``), else ``None``.
    """

    path: Path
    probabilities: dict[str, float]
    prediction: str | None = None
    error: str | None = None
    prediction_set: tuple[str, ...] | None = None

    @property
    def ok(self) -> bool:
        """Whether the file was read and predicted."""
        return self.error is None


def predict_files(classifier: Classifier, paths: Sequence[str | os.PathLike],
                  chunk: int = CHUNK) -> Iterator[FilePrediction]:
    """Predict image files in input order, ``chunk`` at a time (decoded in parallel).

    Yields one :class:`FilePrediction` per path as soon as its chunk is done, so a caller can
    stream results; unreadable files are yielded with their ``error``.

    Examples
    --------
    >>> for row in predict_files(clf, ["a.jpeg", "b.jpeg"]):          # doctest: +SKIP
    ...     print(row.path, row.prediction or row.error)
    """
    names = classifier.class_names
    for i in range(0, len(paths), chunk):
        part = [Path(p) for p in paths[i:i + chunk]]
        x, ok, failures = decode_images(part, classifier.preprocessing)
        proba = (classifier.predict_proba_prepared(x / 255.0) if len(x)
                 else np.zeros((0, len(names))))
        decided = classifier.decide(proba) if len(x) else []
        sets = sets_or_none(proba, classifier.info, names) or [None] * len(decided)
        rows, errors = iter(zip(proba, decided, sets)), iter(failures)
        for path, good in zip(part, ok):
            if good:
                p, k, cset = next(rows)
                yield FilePrediction(path, dict(zip(names, map(float, p))), names[int(k)],
                                     prediction_set=cset)
            else:
                yield FilePrediction(path, {}, None, next(errors))
