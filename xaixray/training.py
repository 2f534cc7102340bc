"""Training: data in any of several forms -> ``keras.Model.fit`` with the seeds' callbacks.

Adam and the architecture's loss come from :func:`xaixray.models.build`; this module adds the
data pipeline, class weights, augmentation, early stopping, learning-rate reduction on plateau
and the best-weights checkpoint, and records what was done in ``classifier.info``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError


def fit(
    classifier: Any,
    train: Any,
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
) -> dict:
    """Train ``classifier`` in place and return the Keras history (``dict`` of lists).

    Parameters
    ----------
    train
        A Kaggle-layout folder (its ``train/`` split, or class folders), an
        :class:`~xaixray.data.ImageSet`, :class:`~xaixray.data.Phantoms`, or a tuple
        ``(images, labels)`` of arrays/paths.
    validation
        Same forms. ``None`` with a folder or ``ImageSet`` carves a patient-grouped, stratified
        ``val_fraction`` out of ``train`` (see :func:`~xaixray.data.split_by_patient`); ``None``
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
    """
    import keras

    from .data import augmentation, class_weights, make_dataset, split_by_patient
    from .data.folders import ImageSet, load_folder

    if isinstance(train, (str, os.PathLike)):
        train = load_folder(train, split="train")
    if validation is None and isinstance(train, ImageSet):
        train, validation = split_by_patient(train, val_fraction, seed)
    pre = classifier.preprocessing
    x_train, y_train, bad = _arrays(train, pre)
    val = _arrays(validation, pre) if validation is not None else None
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
    cbs = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                      restore_best_weights=True, verbose=1),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                          patience=reduce_lr_patience, min_lr=1e-6, verbose=1),
    ]
    if checkpoint is not None:
        cbs.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=monitor,
                                                   save_best_only=True, save_weights_only=True))
    cbs += list(callbacks or [])

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
    classifier._forward = None  # weights changed: rebuild the compiled forward pass lazily
    if val is not None:
        from .evaluation import compute_metrics

        proba = classifier.predict_proba_prepared(val[0].astype(np.float32) / 255.0)
        m = compute_metrics(val[1], proba[:, 1], classifier.threshold, classifier.class_names)
        classifier.info["validation"] = {k: m[k] for k in (
            "n", "threshold", "accuracy", "roc_auc", "sensitivity", "specificity", "precision",
            "f1", "confusion_matrix")}
    return hist


def _arrays(data: Any, pre: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Any supported data form -> (uint8 model-frame images, int labels, failures)."""
    from .data import ImageSet, Phantoms, decode_images, load_arrays
    from .data.folders import load_folder

    if isinstance(data, (str, os.PathLike)):
        data = load_folder(Path(data), split="val")
    if isinstance(data, ImageSet):
        return load_arrays(data, pre, progress=True)
    if isinstance(data, Phantoms):
        images, labels = list(data.images), data.labels
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
