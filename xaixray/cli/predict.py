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

    from ..data import decode_images

    clf = load_classifier(args)
    pos = clf.class_names[-1]
    if not args.json and paths:
        print(f"{'image':<50} {'prediction':<10} P({pos})")
    chunk = 64
    with tqdm(total=len(paths), unit="img", file=sys.stderr, disable=len(paths) < 20,
              leave=False) as bar:
        for i in range(0, len(paths), chunk):
            part = paths[i:i + chunk]
            x, ok, failures = decode_images(part, clf.preprocessing)
            problems.extend(failures)
            if len(x):
                proba = clf.predict_proba_prepared(x / 255.0)
                labels = clf.decide(proba)
                for path, p, k in zip([q for q, o in zip(part, ok, strict=True) if o], proba,
                                      labels, strict=True):
                    if args.json:
                        print(json.dumps({"image": str(path), "prediction": clf.class_names[k],
                                          "probabilities": dict(zip(clf.class_names,
                                                                    map(float, p),
                                                                    strict=True)),
                                          "threshold": clf.threshold}))
                    else:
                        bar.write(f"{str(path):<50} {clf.class_names[k]:<10} {p[-1]:.4f}")
            bar.update(len(part))
    for line in problems:
        warn("predict", f"skipped {line}")
    if problems:
        warn("predict", f"{len(problems)} input(s) could not be predicted")
    return 1 if problems else 0
