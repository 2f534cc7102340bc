"""Evaluation: predictions over labelled sets, classification metrics, operating points and
calibration.

Figures of the results (confusion matrix, ROC, reliability, training curves) are in
:mod:`xaixray.plots`.
"""

from .calibration import (
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
    operating_point,
    thresholds_for_sensitivities,
)
from .metrics import compute_metrics, format_metrics, threshold_for_sensitivity
from .sets import Evaluation, evaluate, predict_set
from .site import calibrate

__all__ = [
    "Evaluation",
    "calibrate",
    "choose_threshold",
    "compute_metrics",
    "evaluate",
    "expected_calibration_error",
    "fit_temperature",
    "format_metrics",
    "operating_point",
    "predict_set",
    "threshold_for_sensitivity",
    "thresholds_for_sensitivities",
]
