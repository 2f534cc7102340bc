"""Site calibration: a model's operating point, chosen on a small labelled set from the site."""

from __future__ import annotations

from typing import Any

from ..classifier import Classifier
from ..errors import ModelError
from .calibration import (
    DEFAULT_CONFIDENCE,
    check_calibration_set,
    choose_threshold,
    confident_threshold,
    exact_interval,
    expected_calibration_error,
    fit_temperature,
)
from .conformal import fit_conformal, set_summary
from .metrics import compute_metrics
from .sets import calibration_report, describe_data, predict_set


def calibrate(classifier: Classifier, data: Any, rule: str = "sensitivity",
              target: float | None = 0.95, temperature: bool = False,
              progress: bool = False, method: str = "clopper-pearson",
              confidence: float = DEFAULT_CONFIDENCE,
              conformal: float | None = None) -> Classifier:
    """A copy of ``classifier`` with its threshold (and optionally temperature) set on ``data``.

    Parameters
    ----------
    classifier
        The model to calibrate; it is not changed (the copy shares its Keras model).
    data
        A labelled set in any form :func:`~xaixray.evaluation.predict_set` takes: a folder
        (``DIR/test/`` or ``DIR/{NORMAL,PNEUMONIA}/``), an ImageSet, phantoms or images with labels.
        Never train on it.
    rule, target
        ``"sensitivity"`` (the highest threshold keeping sensitivity >= ``target``),
        ``"specificity"`` (the lowest keeping specificity >= ``target``) or ``"youden"``.
    method, confidence
        ``"clopper-pearson"`` (default): the target holds for the population of such images
        with probability ``confidence`` (a one-sided exact binomial bound on the calibration
        images of that class, :func:`~xaixray.evaluation.calibration.confident_threshold`);
        ``"empirical"``: it holds on this set only (the old rule).
    conformal
        Also fit class-conditional conformal prediction sets at this miscoverage ``alpha``
        (e.g. 0.05), stored in ``info["conformal"]``
        (:func:`~xaixray.evaluation.conformal.fit_conformal`).
    temperature
        Also fit temperature scaling (one parameter, minimising the negative log-likelihood);
        the threshold is then chosen on the rescaled probabilities.

    Returns
    -------
    Classifier
        With ``threshold``, ``temperature`` and ``info["calibration"]``: the rule, the set's size
        and class counts, the temperature, ECE before and after, and the metrics at the new
        threshold with bootstrap 95% intervals (``class_names``: the two sides of their
        confusion matrix; one-vs-rest, ``"NORMAL/BACTERIA"`` and ``"VIRAL"``, say); with
        ``"clopper-pearson"``, ``promise`` (the target, confidence, lower bound and what it
        costs: the other class's rate with its exact 95% interval); with ``conformal``,
        ``info["conformal"]``.

    Raises
    ------
    DataError
        If the set has one class only, fewer than 10 images of a class, or too few images of
        the class for the promise (the message says how many are needed).
    ModelError
        For more than two classes without a named positive class (``positive_class=``,
        ``--positive``): then it is calibrated one-vs-rest, without temperature scaling.
    """
    n_classes = len(classifier.class_names)
    if n_classes > 2 and not classifier.one_vs_rest:
        raise ModelError(f"calibrate needs a positive class for a model with {n_classes} "
                         f"classes ({', '.join(classifier.class_names)}): name one with "
                         "--positive (positive_class=) to calibrate it one-vs-rest")
    if n_classes > 2 and temperature:
        raise ModelError("temperature scaling is fitted for two classes; calibrate a model with "
                         f"{n_classes} classes without --temperature")
    y, proba, failures = predict_set(classifier, data, progress=progress)
    pos = classifier.positive_index
    truth = (y == pos).astype(int)  # 1 = the positive class, whatever its index
    negative = "/".join(n for i, n in enumerate(classifier.class_names) if i != pos)
    check_calibration_set(truth, names=(negative, classifier.positive_class))
    p = proba[:, pos]
    t_fit = fit_temperature(truth, p) if temperature else 1.0
    calibrated = Classifier(classifier.model, classifier.preprocessing, classifier.class_names,
                            classifier.threshold, classifier.name, dict(classifier.info),
                            positive_class=classifier.positive_class,
                            temperature=classifier.temperature * t_fit,
                            provenance=classifier.provenance, reasons=classifier.reasons)
    # the threshold is chosen on the calibrated model's own float32 outputs, so that the rule
    # holds exactly when it predicts these images again
    proba_cal = predict_set(calibrated, data)[1] if temperature else proba
    p_cal = proba_cal[:, pos]
    threshold, rule_text = choose_threshold(truth, p_cal, rule, target, method, confidence,
                                            names=(negative, classifier.positive_class))
    promise = None
    if method == "clopper-pearson" and rule != "youden":
        promise = confident_threshold(truth, p_cal, rule, target, confidence,
                                      names=(negative, classifier.positive_class))[1]
        other = 0 if rule == "sensitivity" else 1  # the class the threshold was not chosen on
        called = p_cal[truth == other] >= threshold
        right = int((~called).sum()) if other == 0 else int(called.sum())
        cost = exact_interval(right, int((truth == other).sum()))
        promise["cost"] = {"measure": "specificity" if other == 0 else "sensitivity",
                           **cost.to_dict()}
    if n_classes > 2:  # one-vs-rest: the positive class against the others together
        metrics = compute_metrics(truth, p_cal, threshold, (negative, classifier.positive_class),
                                  positive=1)
    else:
        metrics = compute_metrics(y, p_cal, threshold, classifier.class_names, positive=pos)
    report = calibration_report(truth, p_cal, threshold)
    info = calibrated.info
    info["calibration"] = {
        "rule": rule_text,
        "method": "youden" if rule == "youden" else method,
        "data": describe_data(data),
        "n": int(len(y)),
        "counts": {name: int((y == i).sum()) for i, name in enumerate(classifier.class_names)},
        "unreadable": len(failures),
        "previous_threshold": classifier.threshold,
        "temperature": t_fit * classifier.temperature,
        "ece_before": expected_calibration_error(truth, p),
        "ece_after": report["ece"],
        # class_names: the matrix's two sides (one-vs-rest: the others joined, the positive)
        "metrics": {k: metrics[k] for k in ("threshold", "accuracy", "roc_auc", "sensitivity",
                                            "specificity", "confusion_matrix", "class_names")},
        "intervals": report["intervals"],
    }
    if promise is not None:
        info["calibration"]["promise"] = promise
    if conformal is not None:
        info["conformal"] = fit_conformal(y, proba_cal, conformal, classifier.class_names)
        info["conformal"]["on_calibration_set"] = set_summary(y, proba_cal, info["conformal"],
                                                              classifier.class_names)
    elif temperature:
        info.pop("conformal", None)  # quantiles of the old probabilities no longer apply
    calibrated.threshold = threshold
    return calibrated
