"""Training: data in any of several forms -> ``keras.Model.fit`` with the seeds' callbacks.

Adam and the architecture's loss come from :func:`xaixray.models.build`; this module adds the
data pipeline, class weights, augmentation, early stopping, learning-rate reduction on plateau,
the best-weights checkpoint and the choice of threshold on validation, and records what was done
in ``classifier.info``.

>>> clf = xaixray.build("gray_cnn_lstm")                             # doctest: +SKIP
>>> history = xaixray.train(clf, "chest_xray", epochs=20, sensitivity=0.97)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .classifier import Classifier
from .data import (
    ImageSet,
    Phantoms,
    augmentation,
    class_weights,
    decode_images,
    folder_classes,
    load_arrays,
    load_folder,
    make_dataset,
    relabel,
    split_by_patient,
)
from .errors import DataError
from .evaluation import compute_metrics, threshold_for_sensitivity
from .evaluation.multiclass import compute_multiclass_metrics
from .labels import CLASS_NAMES

STRATEGIES = ("default", "mirrored", "multiworker")

VALIDATION_KEYS = ("n", "threshold", "positive_class", "accuracy", "roc_auc", "sensitivity",
                   "specificity", "precision", "f1", "confusion_matrix")


def train(
    classifier: Classifier,
    data: Any,
    validation: Any = None,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    augment: bool | Any = True,
    robust_augment: bool = False,
    class_weight: str | dict | None = "balanced",
    val_fraction: float = 0.2,
    patience: int = 5,
    reduce_lr_patience: int = 2,
    checkpoint: str | os.PathLike | None = None,
    seed: int = 0,
    verbose: int | str = "auto",
    callbacks: list | None = None,
    sensitivity: float | None = None,
    precise_bn: bool = False,
) -> dict:
    """Train ``classifier`` in place and return the Keras history (``dict`` of lists).

    Parameters
    ----------
    classifier
        A compiled classifier, e.g. from :func:`xaixray.models.build`.
    data
        A Kaggle-layout folder (its ``train/`` split, or class folders), an
        :class:`~xaixray.data.ImageSet`, :class:`~xaixray.data.Phantoms`, or a tuple
        ``(images, labels)`` of arrays/paths.
    validation
        Same forms. ``None`` with a folder or ``ImageSet`` carves a patient-grouped, stratified
        ``val_fraction`` out of ``data`` (see :func:`~xaixray.data.split_by_patient`); ``None``
        with arrays trains without validation.
    augment
        ``True`` for the seeds' augmentation (rotation, shifts, zoom, shear, flips), ``False``
        for none, or a Keras layer of your own.
    robust_augment
        Add brightness/contrast jitter to the default augmentation.
    class_weight
        ``"balanced"`` (the seeds' choice), ``None`` or an explicit ``{class: weight}``.
    patience, reduce_lr_patience
        Early stopping (best weights restored) and ReduceLROnPlateau (factor 0.5) patience, on
        the validation loss when there is validation data, else on the training loss.
    checkpoint
        Optional path of a ``.weights.h5`` file that keeps the best weights during training.
    callbacks
        More Keras callbacks. They run before the built-in ones, so that a callback that changes
        the weights at the end of an epoch (``keras.callbacks.SwapEMAWeights(swap_on_epoch=True)``
        with an optimizer compiled with ``use_ema=True``) does so before early stopping records
        the best weights and the checkpoint saves them.
    sensitivity
        With validation data, set ``classifier.threshold`` to the highest threshold whose
        validation sensitivity is at least this (a rule fixed before seeing test data), and record
        the rule and the validation metrics at that threshold. ``None`` keeps the threshold.
    precise_bn
        After training, replace every trainable BatchNorm layer's moving statistics by their
        average over one pass of the (un-augmented, shuffled) training images, computed with the
        final weights (:func:`xaixray.models.batchnorm.recalibrate_batchnorm`). Use it when a
        short run scores well on training batches but not at inference: the moving averages
        have not caught up with the weights. With validation data the statistics are also
        recomputed before every validation pass, so that early stopping and the best epoch are
        judged on them. Runs before the validation threshold is chosen.
    """
    import keras

    if isinstance(data, (str, os.PathLike)):
        data = load_folder(data, split="train",
                           class_names=folder_classes(classifier.class_names))
    if validation is None and isinstance(data, ImageSet):
        data, validation = split_by_patient(data, val_fraction, seed)
    pre, names = classifier.preprocessing, classifier.class_names
    x_train, y_train, bad = _arrays(data, pre, names)
    val = _arrays(validation, pre, names) if validation is not None else None
    if val is not None:
        bad += val[2]
    for line in bad:
        print(f"skipped: {line}")

    keras.utils.set_random_seed(seed)
    if augment is True:
        augment = augmentation(robust=robust_augment, seed=seed)
    elif augment is False:
        augment = None
    train_ds = make_dataset(x_train, y_train, pre, batch_size, shuffle=True, augment=augment,
                            seed=seed)
    val_ds = make_dataset(val[0], val[1], pre, batch_size) if val is not None else None
    if class_weight == "balanced":
        class_weight = class_weights(y_train, len(classifier.class_names))

    monitor = "val_loss" if val_ds is not None else "loss"
    cbs = list(callbacks or []) + [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                      restore_best_weights=True, verbose=1),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                          patience=reduce_lr_patience, min_lr=1e-6, verbose=1),
    ]
    if precise_bn:
        from .models.batchnorm import precise_bn_callback, recalibrate_batchnorm

        bn_batches = make_dataset(x_train, None, pre, batch_size, shuffle=True, seed=seed)
        if val_ds is not None:  # validation, and what it decides, see the final statistics
            cbs.insert(0, precise_bn_callback(bn_batches))
    if checkpoint is not None:
        cbs.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=monitor,
                                                   save_best_only=True, save_weights_only=True))

    start = time.perf_counter()
    history = classifier.model.fit(train_ds, validation_data=val_ds, epochs=epochs,
                                   class_weight=class_weight, callbacks=cbs, verbose=verbose,
                                   shuffle=False)
    seconds = time.perf_counter() - start
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    classifier.info["training"] = {
        "train_images": int(len(y_train)),
        "validation_images": int(len(val[1])) if val is not None else 0,
        "epochs_run": len(hist.get("loss", [])),
        "batch_size": batch_size,
        "class_weight": class_weight,
        "augmentation": [layer.name for layer in augment.layers] if augment is not None
        and hasattr(augment, "layers") else None,
        "seconds": round(seconds, 1),
        "images_per_second": round(len(y_train) * len(hist.get("loss", [])) / seconds, 1),
        "seed": seed,
    }
    if precise_bn:
        classifier.info["training"]["precise_bn_batches"] = recalibrate_batchnorm(
            classifier.model, bn_batches)
    classifier.reset_forward()  # the weights changed
    if val is not None:
        _record_validation(classifier, val[1], val[0], sensitivity)
    return hist


def _record_validation(classifier: Classifier, y: np.ndarray, x: np.ndarray,
                       sensitivity: float | None) -> None:
    """Validation metrics at the current threshold and, with ``sensitivity``, the new one."""
    pos = classifier.positive_index
    proba = classifier.predict_proba_prepared(x.astype(np.float32) / 255.0)
    if len(classifier.class_names) > 2:  # per class; the threshold is for two classes
        m = compute_multiclass_metrics(y, proba, classifier.decide(proba),
                                       classifier.class_names)
        classifier.info["validation"] = {k: m[k] for k in ("n", "accuracy", "balanced_accuracy",
                                                           "macro_roc_auc", "per_class")}
        return
    p = proba[:, pos]
    m = compute_metrics(y, p, classifier.threshold, classifier.class_names, positive=pos)
    classifier.info["validation"] = {k: m[k] for k in VALIDATION_KEYS}
    if sensitivity is None:
        return
    classifier.threshold = threshold_for_sensitivity(y, p, sensitivity, positive=pos)
    m = compute_metrics(y, p, classifier.threshold, classifier.class_names, positive=pos)
    classifier.info["threshold_rule"] = (f"highest threshold with validation sensitivity >= "
                                         f"{sensitivity}")
    classifier.info["validation_at_threshold"] = {k: m[k] for k in VALIDATION_KEYS}


def _arrays(data: Any, pre: Any, class_names: Any
            ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Any supported data form -> (uint8 model-frame images, int labels, failures).

    Labels of folders and image sets are matched to ``class_names`` (the model's) by name;
    ``(images, labels)`` and phantoms are taken to be in the model's class order already.
    """
    if isinstance(data, (str, os.PathLike)):
        data = load_folder(Path(data), split="val", class_names=folder_classes(class_names))
    if isinstance(data, ImageSet):
        return load_arrays(data.relabel(class_names), pre, progress=True)
    if isinstance(data, Phantoms):
        images, labels = list(data.images), relabel(data.labels, CLASS_NAMES, class_names)
    elif isinstance(data, tuple) and len(data) == 2:
        images, labels = data
        images = list(images)
    else:
        raise DataError(f"cannot train on {type(data).__name__}; give a folder, an ImageSet, "
                        "Phantoms or (images, labels)")
    if len(images) != len(labels):
        raise DataError(f"{len(images)} images but {len(labels)} labels")
    x, ok, failures = decode_images(images, pre)
    return x, np.asarray(labels, dtype=int)[ok], failures


def distribution_strategy(name: str = "default") -> Any:
    """A ``tf.distribute`` strategy by name; build and compile the model inside its ``scope()``.

    ``"default"`` is TensorFlow's no-op strategy (one device). ``"mirrored"`` is
    ``MirroredStrategy``: one replica per local GPU (or the CPU when there is none), gradients
    all-reduced. ``"multiworker"`` is ``MultiWorkerMirroredStrategy`` across hosts, configured by
    the ``TF_CONFIG`` environment variable on each worker (every worker runs the same command).

    Examples
    --------
    >>> strategy = distribution_strategy("mirrored")                 # doctest: +SKIP
    >>> with strategy.scope():                                        # doctest: +SKIP
    ...     clf = xaixray.build("gray_cnn_lstm")
    >>> xaixray.train(clf, "chest_xray", batch_size=32 * strategy.num_replicas_in_sync)
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise DataError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
