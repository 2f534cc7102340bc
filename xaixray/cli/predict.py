"""``xaixray predict``: class and probability for images."""

from __future__ import annotations

import argparse

from .common import add_model_overrides


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="predict NORMAL/PNEUMONIA for images",
        description="Predict images or folders of images. MODEL (a .keras file) may be left out "
                    "to use the bundled default model.",
        usage="xaixray predict [MODEL] IMAGE_OR_FOLDER [...] [options]")
    p.add_argument("inputs", nargs="+", metavar="[MODEL] IMAGE",
                   help="optional .keras model, then image files or folders")
    p.add_argument("--model", help="model file (alternative to the first argument)")
    p.add_argument("--json", action="store_true", help="print one JSON object per image")
    add_model_overrides(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from .common import images_from_args, load_classifier, warn

    found = images_from_args(args, "predict")
    if found is None:
        return 2
    paths, problems = found

    from tqdm.auto import tqdm

    from ..prediction_sets import set_label
    from ..run import predict_files

    clf = load_classifier(args)
    pos = clf.positive_class
    argmax = len(clf.class_names) > 2 and not clf.one_vs_rest  # no positive class: show P(all)
    if not args.json and paths:
        sets = "  conformal set" if clf.info.get("conformal") else ""
        columns = " ".join(f"P({c})" for c in clf.class_names) if argmax else f"P({pos})"
        print(f"{'image':<50} {'prediction':<10} {columns}{sets}")
    with tqdm(total=len(paths), unit="img", file=sys.stderr, disable=len(paths) < 20,
              leave=False) as bar:
        for row in predict_files(clf, paths):
            if not row.ok:
                problems.append(row.error)
            elif args.json:
                cset = None if row.prediction_set is None else list(row.prediction_set)
                bar.write(json.dumps({"image": str(row.path), "prediction": row.prediction,
                                      "probabilities": row.probabilities,
                                      "threshold": clf.threshold,
                                      "prediction_set": cset}), file=sys.stdout)
            else:
                shown = clf.class_names if argmax else [pos]
                values = " ".join(f"{row.probabilities[c]:.4f}".ljust(len(c) + 3) for c in shown)
                in_set = "" if row.prediction_set is None else f"  {set_label(row.prediction_set)}"
                bar.write(f"{str(row.path):<50} {row.prediction:<10} {values.rstrip()}{in_set}",
                          file=sys.stdout)
            bar.update()
    for line in problems:
        warn("predict", f"skipped {line}")
    if problems:
        warn("predict", f"{len(problems)} input(s) could not be predicted")
    return 1 if problems else 0
