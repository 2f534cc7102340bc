"""``xaixray train``: train a zoo architecture on a Kaggle-layout folder and save it."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..preprocessing import CROPS, EQUALIZATIONS
from .common import existing_path, input_size, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a model of the zoo on an image folder",
        description="Train an architecture of the zoo (see `xaixray models`) on a Kaggle-layout "
                    "folder (DIR/train/{NORMAL,PNEUMONIA}/). Validation is carved out of train, "
                    "grouped by patient, unless --val is given. Writes OUT (.keras, with its "
                    "preprocessing and threshold), OUT's .history.json and .curves.png.")
    p.add_argument("--arch", required=True, help="architecture name (see `xaixray models`)")
    p.add_argument("--data", required=True, type=existing_path, metavar="DIR")
    p.add_argument("--out", required=True, type=Path, metavar="MODEL.keras")
    p.add_argument("--val", type=existing_path, metavar="DIR",
                   help="explicit validation folder (default: patient-grouped split of train)")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, help="default: the seed document's")
    p.add_argument("--weights", default="imagenet", metavar="imagenet|none|FILE",
                   help="transfer models: ImageNet (needs network), none, or a local file")
    p.add_argument("--input-size", type=input_size, metavar="HxW",
                   help="override the documented input size")
    p.add_argument("--channels", type=int, choices=(1, 3))
    p.add_argument("--equalize", choices=sorted(EQUALIZATIONS),
                   help="contrast equalisation saved with the model (default: the architecture's)")
    p.add_argument("--crop", choices=sorted(CROPS),
                   help="crop before resizing, saved with the model: 'lungs' frames every image "
                        "by the box around its lung fields (default: the architecture's, none)")
    p.add_argument("--classes", type=int, choices=(2, 3), default=2,
                   help="2: NORMAL/PNEUMONIA; 3: NORMAL/BACTERIA/VIRAL, the subtype read from "
                        "the Kaggle file names (person*_bacteria_*, person*_virus_*) or from "
                        "BACTERIA/ and VIRAL/ folders (default: 2)")
    p.add_argument("--no-augment", action="store_true", help="turn augmentation off")
    p.add_argument("--robust-augment", action="store_true",
                   help="add brightness, contrast and sharpness jitter to the augmentation")
    p.add_argument("--precise-bn", action="store_true",
                   help="after training, recompute BatchNorm moving statistics over the "
                        "training images with the final weights (helps short runs whose "
                        "inference disagrees with training accuracy)")
    p.add_argument("--patience", type=int, default=5, help="early-stopping patience (epochs)")
    p.add_argument("--sensitivity", type=float, metavar="S",
                   help="set the threshold to the highest one keeping validation sensitivity "
                        ">= S (default: keep 0.5)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds initialisation, shuffling and augmentation (and the split)")
    p.add_argument("--split-seed", type=int, metavar="N",
                   help="seed of the patient-grouped validation split (default: --seed); keep "
                        "it fixed to compare training seeds on the same validation images")
    p.add_argument("--strategy", choices=("default", "mirrored", "multiworker"),
                   default="default",
                   help="tf.distribute strategy: mirrored = all local GPUs; multiworker = across "
                        "hosts, configured by TF_CONFIG (run the same command on every worker)")
    p.add_argument("--explain-images", type=existing_path, metavar="DIR",
                   help="a folder of a few fixed images to explain while training: figure PNGs "
                        "per logged epoch go to OUT's .explanations/ folder")
    p.add_argument("--explain-every", type=positive_int, metavar="N",
                   help="explain the --explain-images every N epochs (default: 1)")
    p.add_argument("--explain-log", type=Path, metavar="LOGDIR",
                   help="also log the maps (and their border/outside-body shares and "
                        "faithfulness) to this TensorBoard log folder")
    p.add_argument("--explain-methods", default="gradcam", metavar="M[,M...]",
                   help="methods for the training-time maps (default: gradcam, the cheapest)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import models
    from ..errors import XaixrayError
    from .common import note_orphan_masks, refuse_existing

    out: Path = args.out
    if out.suffix.lower() != ".keras":
        raise XaixrayError(f"{out}: --out must end in .keras")
    history_path = out.with_suffix(".history.json")
    curves_path = out.with_suffix(".curves.png")
    if args.explain_images is None and (args.explain_every or args.explain_log):
        raise XaixrayError("--explain-every and --explain-log need --explain-images DIR (the "
                           "images to explain while training)")
    if args.classes == 3 and args.sensitivity is not None:
        raise XaixrayError("--sensitivity sets a two-class threshold; a --classes 3 model "
                           "predicts the arg-max (calibrate it one-vs-rest with xaixray "
                           "calibrate --positive CLASS)")
    maps_path = out.with_suffix(".explanations") if args.explain_images else None
    refuse_existing([out, history_path, curves_path, *([maps_path] if maps_path else [])],
                    args.overwrite)
    arch = models.get(args.arch)  # fail fast on a bad name, before importing TensorFlow
    weights = None if str(args.weights).lower() == "none" else args.weights

    from ..data import folder_classes, load_folder, split_by_patient
    from ..evaluation import format_metrics
    from ..files import write_json
    from ..labels import CLASS_NAMES, SUBTYPE_CLASS_NAMES
    from ..plots import plot_history
    from ..reports import save_figure
    from ..training import distribution_strategy, train

    names = SUBTYPE_CLASS_NAMES if args.classes == 3 else CLASS_NAMES
    train_set = load_folder(args.data, split="train", class_names=folder_classes(names))
    note_orphan_masks("train", train_set.orphan_masks)
    if args.val is not None:
        val_set = load_folder(args.val, split="val", class_names=folder_classes(names))
        note_orphan_masks("train", val_set.orphan_masks)
        split = {"folder": str(args.val)}
    else:
        split_seed = args.seed if args.split_seed is None else args.split_seed
        train_set, val_set = split_by_patient(train_set, args.val_fraction, split_seed)
        split = {"grouped_by": "patient", "fraction": args.val_fraction, "seed": split_seed}
    print(f"train: {len(train_set)} images {train_set.counts()}; "
          f"validation: {len(val_set)} images {val_set.counts()}"
          + ("" if args.val else " (grouped by patient)"))
    options = {"input_size": args.input_size, "channels": args.channels, "seed": args.seed,
               "equalize": args.equalize, "crop": args.crop,
               "learning_rate": args.learning_rate, "class_names": names}
    if arch.transfer:
        options["weights"] = weights
    callbacks = []
    strategy = distribution_strategy(args.strategy)
    with strategy.scope():  # variables and optimizer state live on the strategy's devices
        clf = models.build(args.arch, **options)
    clf.info["strategy"] = {"name": args.strategy, "replicas": strategy.num_replicas_in_sync}
    clf.info["data"] = str(args.data)
    clf.info["validation_split"] = split
    if maps_path is not None:
        from ..run.callback import ExplanationCallback

        callbacks.append(ExplanationCallback(
            args.explain_images, methods=args.explain_methods.split(","),
            every=args.explain_every or 1, log_dir=args.explain_log, out_dir=maps_path,
            classifier=clf, faithfulness=True, seed=args.seed))
    history = train(clf, train_set, val_set, epochs=args.epochs, batch_size=args.batch_size,
                    augment=not args.no_augment, robust_augment=args.robust_augment,
                    patience=args.patience, seed=args.seed, verbose=1,
                    sensitivity=args.sensitivity, callbacks=callbacks,
                    precise_bn=args.precise_bn)
    if "validation_at_threshold" in clf.info:
        print(clf.info["threshold_rule"])
        print(format_metrics({**clf.info["validation_at_threshold"],
                              "class_names": list(clf.class_names)}))
    clf.save(out, overwrite=args.overwrite)
    write_json(history_path, history)
    save_figure(plot_history(history, title=args.arch), curves_path)
    t = clf.info["training"]
    print(f"trained {t['epochs_run']} epochs in {t['seconds']:.0f} s "
          f"({t['images_per_second']:.0f} images/s)")
    if "validation" in clf.info and "per_class" in clf.info["validation"]:
        v = clf.info["validation"]
        aucs = ", ".join(f"{c} {'n/a' if d['roc_auc'] is None else format(d['roc_auc'], '.4f')}"
                         for c, d in v["per_class"].items())
        print(f"validation (arg-max): accuracy {v['accuracy']:.4f}; one-vs-rest ROC AUC {aucs}")
    elif "validation" in clf.info:
        v = clf.info["validation"]
        auc, sens, spec = ("n/a" if v[k] is None else f"{v[k]:.4f}"
                           for k in ("roc_auc", "sensitivity", "specificity"))
        print(f"validation at threshold 0.5: accuracy {v['accuracy']:.4f}, ROC AUC {auc}, "
              f"sensitivity {sens}, specificity {spec}")
    print(f"saved {out}, {history_path.name}, {curves_path.name}"
          + (f", {maps_path.name}/ (explanations while training)" if maps_path else ""))
    return 0
