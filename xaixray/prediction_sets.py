"""Conformal prediction sets from stored per-class score quantiles (no fitting here).

A model calibrated with ``xaixray calibrate --conformal ALPHA`` carries, in
``info["conformal"]``, one quantile ``q[c]`` per class of the score ``1 - p(c)``, fitted on a
labelled calibration set (:func:`xaixray.evaluation.conformal.fit_conformal`). An image's
prediction set holds every class ``c`` with ``1 - p(c) <= q[c]``: ``{PNEUMONIA}``, ``{NORMAL}``,
both (shown as "uncertain") or, rarely, neither. The rule lives at the bottom of the package so
that :meth:`xaixray.Classifier.predict_sets`, the reports and the web app can apply it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import ModelError

UNCERTAIN = "uncertain"
"""How a set holding two or more classes is shown."""

NONE_FITS = "none (atypical image)"
"""How an empty set is shown: no class is as typical as the calibration images of that class."""


def prediction_sets(proba: np.ndarray, conformal: Mapping[str, Any] | None,
                    class_names: Sequence[str]) -> list[tuple[str, ...]]:
    """The conformal prediction set of each image, in ``class_names`` order.

    Parameters
    ----------
    proba
        ``(n, n_classes)`` probabilities (after the model's temperature), columns in
        ``class_names`` order.
    conformal
        ``info["conformal"]`` of a calibrated model: ``{"quantiles": {class: q}, ...}``.
    class_names
        The model's class names.

    Raises
    ------
    ModelError
        If the model carries no conformal quantiles, or none for one of its classes.
    """
    if not conformal or "quantiles" not in conformal:
        raise ModelError("this model has no conformal quantiles; calibrate it with "
                         "`xaixray calibrate MODEL DIR --conformal 0.05 --out NEW.keras`")
    missing = [c for c in class_names if c not in conformal["quantiles"]]
    if missing:
        raise ModelError(f"the model's conformal quantiles lack class {missing[0]!r}")
    q = np.array([float(conformal["quantiles"][c]) for c in class_names])
    member = (1.0 - np.asarray(proba, np.float64)) <= q  # float32 scores compared as fitted
    return [tuple(c for c, inside in zip(class_names, row) if inside) for row in member]


def set_label(prediction_set: Sequence[str]) -> str:
    """``"PNEUMONIA"`` / ``"NORMAL"`` for a single class, ``"uncertain"`` for two or more,
    :data:`NONE_FITS` for an empty set."""
    if len(prediction_set) == 1:
        return str(prediction_set[0])
    return UNCERTAIN if prediction_set else NONE_FITS


def sets_or_none(proba: np.ndarray, info: Mapping[str, Any] | None,
                 class_names: Sequence[str]) -> list[tuple[str, ...]] | None:
    """:func:`prediction_sets` when ``info`` (a model's metadata ``info``) holds conformal
    quantiles, else ``None``."""
    conformal = (info or {}).get("conformal")
    return prediction_sets(proba, conformal, class_names) if conformal else None


def set_record(probabilities: Sequence[float], info: Mapping[str, Any] | None,
               class_names: Sequence[str]) -> dict[str, Any] | None:
    """One image's set as reports and the web app give it: ``{"classes", "label", "alpha"}``,
    or ``None`` when ``info`` holds no conformal quantiles."""
    sets = sets_or_none(np.asarray(probabilities, np.float64)[None], info, class_names)
    if sets is None:
        return None
    return {"classes": list(sets[0]), "label": set_label(sets[0]),
            "alpha": info["conformal"].get("alpha")}
