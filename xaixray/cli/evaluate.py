"""``xaixray evaluate``: metrics of a model on a labelled folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_model_overrides, existing_path, model_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="metrics of a model on a labelled folder",
        description="Evaluate MODEL on DIR (DIR/test/{NORMAL,PNEUMONIA}/ or "
                    "DIR/{NORMAL,PNEUMONIA}/): accuracy, ROC AUC, sensitivity, specificity, "
                    "precision, F1 and the confusion matrix.")
    p.add_argument("model", type=model_arg, metavar="MODEL", help=".keras file or 'default'")
    p.add_argument("data", type=existing_path, metavar="DIR")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the metrics as JSON")
    p.add_argument("--plots", type=Path, metavar="DIR",
                   help="also write confusion_matrix.png, roc.png and reliability.png into DIR")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_model_overrides(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    from .common import load_classifier, note_orphan_masks, refuse_existing, warn

    outputs = ([args.json] if args.json else []) + (  # (multi-class: the matrix only)
        [args.plots / f for f in ("confusion_matrix.png", "roc.png", "reliability.png")]
        if args.plots else [])
    refuse_existing(outputs, args.overwrite)

    from ..data import folder_classes, load_folder
    from ..evaluation import evaluate, format_metrics
    from ..files import write_json
    from ..plots import plot_confusion_matrix, plot_reliability, plot_roc
    from ..reports import save_figure

    clf = load_classifier(args)
    images = load_folder(args.data, split="test", class_names=folder_classes(clf.class_names))
    note_orphan_masks("evaluate", images.orphan_masks)
    print(f"{clf.name}: evaluating on {len(images)} images in {images.root} {images.counts()}")
    # --threshold again: a model with more than two classes refuses it unless one-vs-rest
    result = evaluate(clf, images, threshold=args.threshold, progress=sys.stderr.isatty())
    m = {**result.metrics, "model": str(args.model), "data": str(images.root)}
    print(format_metrics(m))
    if args.json:
        write_json(args.json, m)
        print(f"wrote {args.json}")
    multiclass = "per_class" in m
    if not result.both_classes:
        only = clf.class_names[int(result.y_true[0])]
        warn("evaluate", f"ROC AUC and the ROC curve need images of both classes; the readable "
                         f"images are all {only}, so they are skipped")
    if args.plots:
        save_figure(plot_confusion_matrix(m, title=clf.name), args.plots / "confusion_matrix.png")
        print(f"wrote {args.plots / 'confusion_matrix.png'}")
        if multiclass:
            pass  # ROC and reliability are for two classes; the AUCs are in the table
        elif result.both_classes:
            save_figure(plot_roc(result.y_true, result.p_positive, clf.threshold,
                                 title=clf.name, positive=result.positive),
                        args.plots / "roc.png")
            print(f"wrote {args.plots / 'roc.png'}")
        if not multiclass:
            save_figure(plot_reliability((result.y_true == result.positive).astype(int),
                                         result.p_positive, title=clf.name),
                        args.plots / "reliability.png")
            print(f"wrote {args.plots / 'reliability.png'}")
    for line in result.failures:
        warn("evaluate", f"skipped {line}")
    return 1 if result.failures else 0
