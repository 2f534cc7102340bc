"""Fast ``tf.data`` pipelines over decoded images.

Images are decoded and resized **once** with the same :meth:`Preprocessing.fit` that prediction
uses (so training and inference see identical pixels), held in memory as ``uint8``, then batched,
augmented, scaled and prefetched by ``tf.data``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..errors import DataError, ImageError, about_input
from ..imaging import describe, load_image
from ..preprocessing import Preprocessing


def decode_images(paths: Sequence[Any], preprocessing: Preprocessing, workers: int = 4,
                  progress: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode and fit every image.

    Returns
    -------
    images, ok, failures
        ``uint8`` ``(n_ok, h, w, c)``; a boolean mask over ``paths`` of what decoded; one line per
        unreadable file (skipped, not fatal).
    """
    from tqdm.auto import tqdm

    def one(p: Any) -> np.ndarray | str:
        try:
            with about_input(describe(p)):
                return preprocessing.fit(load_image(p))
        except ImageError as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(tqdm(pool.map(one, paths), total=len(paths), disable=not progress,
                            desc="decoding", unit="img", file=sys.stderr, leave=False))
    ok = [r for r in results if isinstance(r, np.ndarray)]
    failures = [r for r in results if isinstance(r, str)]
    mask = np.array([isinstance(r, np.ndarray) for r in results], bool)
    arr = np.stack(ok) if ok else np.zeros((0, *preprocessing.image_shape), np.uint8)
    return arr, mask, failures


def load_arrays(images: Any, preprocessing: Preprocessing, progress: bool = False
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode an :class:`~xaixray.data.folders.ImageSet`: ``(x uint8, y int, failures)``."""
    x, ok, failures = decode_images(images.paths, preprocessing, progress=progress)
    y = np.asarray(images.labels)[ok]
    if len(x) == 0:
        raise DataError("no readable images")
    return x, y, failures


def make_dataset(x: np.ndarray, y: np.ndarray | None, preprocessing: Preprocessing,
                 batch_size: int = 32, shuffle: bool = False, augment: Any = None,
                 seed: int = 0, sample_weight: np.ndarray | None = None) -> Any:
    """A batched, prefetched ``tf.data.Dataset`` of model inputs (and labels).

    Parameters
    ----------
    x
        ``uint8`` ``(n, h, w, c)`` images in the model frame (from :func:`decode_images`).
    y
        Integer labels, or ``None`` for prediction.
    augment
        A Keras layer/model applied to ``float32`` [0, 1] batches (training only).
    """
    import tensorflow as tf

    items: tuple = (x,) if y is None else (x, np.asarray(y))
    if sample_weight is not None:
        items = (*items, np.asarray(sample_weight, np.float32))
    ds = tf.data.Dataset.from_tensor_slices(items)
    if shuffle:
        ds = ds.shuffle(min(len(x), 8192), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def to_input(images, *rest):
        images = tf.cast(images, tf.float32) / 255.0
        if augment is not None:
            images = tf.clip_by_value(augment(images, training=True), 0.0, 1.0)
        out = preprocessing.to_model_input(images)
        return (out, *rest) if rest else out

    return ds.map(to_input, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
