"""What will new images see? Repeated cross-validation of the operating-point rules inside the
calibration set.

Usage::

    python benchmarks/operating_point_cv.py [--model default] [--data DIR] [--repeats 200]
                                            [--sensitivity 0.95] [--confidence 0.95]
                                            [--alpha 0.05] [--out DIR]

The model's probabilities of the calibration images are computed once (the model is fixed; its
temperature is monotone, so it moves neither a threshold rule's calls nor the per-class
conformal sets). Then, ``--repeats`` times, the images are split into folds, stratified by class
and grouped by patient (:func:`xaixray.data.folders.patient_id`: images of one patient are
never on both sides), and on each split the rules are chosen on one part and measured on the
other:

- **5-fold**: choose on 4/5 (about 95 positives, near the 119 of the whole set), call the
  held-out fifth; the five held-out fifths are pooled, so each repeat measures every image once.
- **half split**: choose on one half (about 60 positives, just above the 59 that the
  Clopper-Pearson rule needs), measure on the other half.

Rules: the threshold by the Clopper-Pearson rule (population sensitivity >= target with the
stated confidence, the default of ``xaixray calibrate``) and by the old empirical rule
(sensitivity >= target on the choosing part), and class-conditional conformal sets at
``--alpha``. Prints a table (median and 5-95% range over repeats) and writes
``operating_point_cv.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

import xaixray
from xaixray.data import load_folder
from xaixray.data.folders import patient_id
from xaixray.errors import DataError
from xaixray.evaluation import predict_set
from xaixray.evaluation.calibration import confident_threshold
from xaixray.evaluation.conformal import fit_conformal
from xaixray.evaluation.metrics import threshold_for_sensitivity
from xaixray.prediction_sets import prediction_sets

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chest_xray_calibration"
MEASURES = ("sensitivity", "specificity", "uncertain", "coverage NORMAL", "coverage PNEUMONIA",
            "empty", "called positive, set negative")


def choose(y: np.ndarray, proba: np.ndarray, pos: int, names: tuple[str, ...],
           target: float, confidence: float, alpha: float) -> dict:
    """Thresholds (both rules) and conformal quantiles chosen on one part."""
    truth = (y == pos).astype(int)
    try:
        cp = confident_threshold(truth, proba[:, pos], "sensitivity", target, confidence)[0]
    except DataError:  # too few positives in this part for the promise
        cp = None
    return {"clopper-pearson": cp,
            "empirical": threshold_for_sensitivity(truth, proba[:, pos], target),
            "conformal": fit_conformal(y, proba, alpha, names)}


def measure(y: np.ndarray, proba: np.ndarray, pos: int, names: tuple[str, ...],
            calls: dict[str, np.ndarray], sets: list[tuple[str, ...]]) -> dict:
    """Held-out rates of pooled calls and sets."""
    out = {}
    for rule, called in calls.items():
        if called is None:
            out[rule] = None
            continue
        out[rule] = {"sensitivity": float(called[y == pos].mean()),
                     "specificity": float((~called[y != pos]).mean())}
    size = np.array([len(s) for s in sets])
    # the threshold calls the finding but the set holds the other class only
    only_other = np.array([s == (names[1 - pos],) for s in sets])
    covered = np.array([names[k] in s for k, s in zip(y, sets)])
    out["conformal"] = {"uncertain": float((size >= 2).mean()), "empty": float((size == 0).mean()),
                        **{f"coverage {c}": float(covered[y == i].mean())
                           for i, c in enumerate(names)}}
    if calls.get("clopper-pearson") is not None:
        out["conformal"]["called positive, set negative"] = float(
            (calls["clopper-pearson"] & only_other).mean())
    return out


def one_repeat(y, proba, groups, pos, names, n_splits, seed, target, confidence, alpha):
    """Pooled held-out results of one repeat (5-fold) or one split (half: 2 folds, one used)."""
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    parts = list(folds.split(np.zeros(len(y)), y, groups))
    if n_splits == 2:
        parts = parts[:1]  # choose on one half, measure on the other
    held = np.concatenate([test for _, test in parts])
    calls = {"clopper-pearson": np.zeros(len(held), bool), "empirical": np.zeros(len(held), bool)}
    refused = False
    sets: list[tuple[str, ...]] = []
    at = 0
    for train, test in parts:
        chosen = choose(y[train], proba[train], pos, names, target, confidence, alpha)
        for rule in calls:
            if chosen[rule] is None:
                refused = True
                continue
            calls[rule][at:at + len(test)] = proba[test, pos] >= chosen[rule]
        sets += prediction_sets(proba[test], chosen["conformal"], names)
        at += len(test)
    if refused:
        calls["clopper-pearson"] = None
    return measure(y[held], proba[held], pos, names, calls, sets)


def summarise(values: list[float]) -> dict:
    v = np.asarray(values, float)
    return {"median": float(np.median(v)), "p05": float(np.percentile(v, 5)),
            "p95": float(np.percentile(v, 95)), "n": int(len(v))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--sensitivity", type=float, default=0.95)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    clf = xaixray.Classifier.load(args.model)
    images = load_folder(args.data, split="test")
    y, proba, failures = predict_set(clf, images)
    if failures:
        raise SystemExit(f"unreadable images: {failures}")
    groups = np.array([patient_id(p) for p in images.paths])
    pos, names = clf.positive_index, clf.class_names
    print(f"{clf.name} on {len(y)} images {images.counts()} from {args.data}, "
          f"{len(set(groups))} patients; {args.repeats} repeats")

    record = {"model": str(args.model), "data": str(args.data), "n": int(len(y)),
              "counts": images.counts(), "patients": len(set(groups)),
              "repeats": args.repeats, "sensitivity_target": args.sensitivity,
              "confidence": args.confidence, "alpha": args.alpha, "schemes": {}}
    chosen = choose(y, proba, pos, names, args.sensitivity, args.confidence, args.alpha)
    whole = measure(y, proba, pos, names,
                    {r: None if chosen[r] is None else proba[:, pos] >= chosen[r]
                     for r in ("clopper-pearson", "empirical")},
                    prediction_sets(proba, chosen["conformal"], names))
    record["whole_set"] = {"thresholds": {r: chosen[r] for r in ("clopper-pearson", "empirical")},
                           "quantiles": chosen["conformal"]["quantiles"], **whole}
    print("chosen and measured on the whole set (not evidence): " + json.dumps(
        record["whole_set"], default=float))
    header = f"{'scheme':<11} {'rule':<16} {'measure':<30} {'median':>7} {'5%':>7} {'95%':>7}"
    lines = [header, "-" * len(header)]
    for scheme, n_splits in (("5-fold", 5), ("half split", 2)):
        runs = [one_repeat(y, proba, groups, pos, names, n_splits, seed, args.sensitivity,
                           args.confidence, args.alpha) for seed in range(args.repeats)]
        out = {}
        for rule in ("clopper-pearson", "empirical", "conformal"):
            done = [r[rule] for r in runs if r[rule] is not None]
            keys = dict.fromkeys(k for d in done for k in d)
            out[rule] = {k: summarise([d[k] for d in done if k in d]) for k in keys}
            out[rule]["refused"] = len(runs) - len(done)
            if rule != "conformal" and done:
                out[rule]["share_sensitivity_at_least_target"] = float(np.mean(
                    [d["sensitivity"] >= args.sensitivity for d in done]))
            for k in MEASURES:
                if k in out[rule]:
                    s = out[rule][k]
                    lines.append(f"{scheme:<11} {rule:<16} {k:<30} {s['median']:>7.3f} "
                                 f"{s['p05']:>7.3f} {s['p95']:>7.3f}")
            if out[rule]["refused"]:
                lines.append(f"{scheme:<11} {rule:<16} refused (too few positives) in "
                             f"{out[rule]['refused']} of {len(runs)}")
        record["schemes"][scheme] = out
    print("\n".join(lines))
    for scheme, out in record["schemes"].items():
        for rule in ("clopper-pearson", "empirical"):
            share = out[rule].get("share_sensitivity_at_least_target")
            if share is not None:
                print(f"{scheme}, {rule}: held-out sensitivity >= {args.sensitivity} in "
                      f"{share:.0%} of repeats")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "operating_point_cv.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out / 'operating_point_cv.json'}")


if __name__ == "__main__":
    main()
