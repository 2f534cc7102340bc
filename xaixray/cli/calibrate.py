"""``xaixray calibrate``: set a model's operating point on a small labelled set from the site."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_model_overrides, existing_path, model_arg


def fraction(text: str) -> float:
    """argparse type: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: expected a number") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be in (0, 1]")
    return value


def open_fraction(text: str) -> float:
    """argparse type: a number in (0, 1)."""
    value = fraction(text)
    if value == 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be below 1")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate", help="choose a model's threshold (and temperature) on a local labelled set",
        description="Choose MODEL's decision threshold on DIR, a small labelled set from the site "
                    "that will use it (DIR/test/{NORMAL,PNEUMONIA}/ or DIR/{NORMAL,PNEUMONIA}/), "
                    "by a rule stated in advance (by default: the promised sensitivity or "
                    "specificity holds for new images with 95% confidence), optionally fit "
                    "temperature scaling and conformal prediction sets, and write a new model "
                    "file that records them. The original file is never changed. "
                    "Never train on the calibration set.")
    p.add_argument("model", type=model_arg, metavar="MODEL", help=".keras file or 'default'")
    p.add_argument("data", type=existing_path, metavar="DIR")
    p.add_argument("--out", type=Path, required=True, metavar="CALIBRATED.keras")
    rule = p.add_mutually_exclusive_group()
    rule.add_argument("--sensitivity", type=fraction, metavar="S",
                      help="highest threshold keeping sensitivity >= S (default: 0.95)")
    rule.add_argument("--specificity", type=fraction, metavar="S",
                      help="lowest threshold keeping specificity >= S")
    rule.add_argument("--youden", action="store_true",
                      help="threshold maximising sensitivity + specificity - 1 on this set")
    p.add_argument("--rule", choices=("clopper-pearson", "empirical"), default="clopper-pearson",
                   help="how --sensitivity/--specificity is kept: clopper-pearson (default) "
                        "for the population of such images with --confidence (a one-sided "
                        "exact binomial bound); empirical on this set only")
    p.add_argument("--confidence", type=open_fraction, default=0.95, metavar="C",
                   help="confidence of the clopper-pearson promise (default: 0.95)")
    p.add_argument("--conformal", type=open_fraction, metavar="ALPHA",
                   help="also store class-conditional conformal prediction sets that hold the "
                        "true class of >= 1-ALPHA of each class's images (e.g. 0.05)")
    p.add_argument("--temperature", action="store_true",
                   help="also fit temperature scaling (probabilities, not the ranking, change)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    add_model_overrides(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data import folder_classes, load_folder
    from ..errors import XaixrayError
    from ..evaluation import calibrate
    from .common import load_classifier, note_orphan_masks, refuse_existing

    if args.out.suffix.lower() != ".keras":
        raise XaixrayError(f"{args.out}: --out must end in .keras")
    if args.model != "default" and args.out.resolve() == Path(args.model).resolve():
        raise XaixrayError(f"{args.out}: is the model being calibrated; choose another --out")
    refuse_existing([args.out], args.overwrite)
    if args.specificity is not None:
        rule, target = "specificity", args.specificity
    elif args.youden:
        rule, target = "youden", None
    else:
        rule, target = "sensitivity", args.sensitivity or 0.95

    clf = load_classifier(args)
    images = load_folder(args.data, split="test", class_names=folder_classes(clf.class_names))
    note_orphan_masks("calibrate", images.orphan_masks)
    calibrated = calibrate(clf, images, rule, target, temperature=args.temperature,
                           progress=sys.stderr.isatty(), method=args.rule,
                           confidence=args.confidence, conformal=args.conformal)
    c = calibrated.info["calibration"]
    counts = ", ".join(f"{n} {k}" for k, n in c["counts"].items())
    print(f"{clf.name}: calibrated on {c['n']} images ({counts}) in {args.data}")
    print(f"rule: {c['rule']}")
    if c.get("promise"):
        pr, cost = c["promise"], c["promise"]["cost"]
        print(f"promise: {pr['measure']} >= {pr['target']:g} with {pr['confidence']:.0%} "
              f"confidence ({pr['kept']} of {pr['n']} at or past the threshold; exact lower "
              f"bound {pr['lower_bound']:.3f})")
        print(f"cost: expected {cost['measure']} {cost['value']:.3f} (exact 95% interval "
              f"{cost['low']:.3f}-{cost['high']:.3f}), from the images the threshold was not "
              "chosen on")
    print(f"threshold {clf.threshold:.4g} -> {calibrated.threshold:.4g}; temperature "
          f"{calibrated.temperature:.3g}; ECE {c['ece_before']:.3f} -> {c['ece_after']:.3f}")
    m = c["metrics"]
    auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.3f}"
    print(f"on this set at the new threshold (bootstrap 95% intervals), ROC AUC {auc}:")
    for key, iv in c["intervals"].items():
        print(f"  {key:<12} {iv['value']:.3f}  ({iv['low']:.3f}-{iv['high']:.3f})")
    conformal = calibrated.info.get("conformal")
    if args.conformal is not None:
        qs = ", ".join(f"{k} {v:.4g}" for k, v in conformal["quantiles"].items())
        on = conformal["on_calibration_set"]
        print(f"conformal sets (alpha {args.conformal:g}, per class): quantiles of 1 - p: {qs}; "
              f"uncertain on this set {on['uncertain']:.3f}")
        for name in conformal["too_few"]:
            print(f"  {name}: too few images for alpha {args.conformal:g}, always in the set")
    calibrated.save(args.out, overwrite=args.overwrite)
    print(f"saved {args.out}; these figures are optimistic for this set: measure on other "
          "images from the site before relying on them")
    return 0
