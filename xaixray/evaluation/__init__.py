"""Evaluation: predictions over labelled sets, classification metrics, operating points,
calibration and conformal prediction sets.

Figures of the results (confusion matrix, ROC, reliability, training curves) are in
:mod:`xaixray.plots`.
"""

from .calibration import (
    choose_threshold,
    confident_threshold,
    expected_calibration_error,
    fit_temperature,
    operating_point,
    thresholds_for_sensitivities,
)
from .conformal import fit_conformal, set_summary
from .metrics import compute_metrics, format_metrics, threshold_for_sensitivity
from .sets import Evaluation, evaluate, predict_set
from .site import calibrate

__all__ = [
    "Evaluation",
    "calibrate",
    "choose_threshold",
    "confident_threshold",
    "compute_metrics",
    "evaluate",
    "expected_calibration_error",
    "fit_conformal",
    "fit_temperature",
    "format_metrics",
    "operating_point",
    "predict_set",
    "set_summary",
    "threshold_for_sensitivity",
    "thresholds_for_sensitivities",
]
