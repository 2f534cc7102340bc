"""Training-time augmentation as Keras preprocessing layers.

The seeds augment with rotation (±20°), shifts (15%), zoom (15–20%), shear (0.2) and horizontal
flips. ``robust=True`` adds brightness and contrast jitter, which helps with the exposure and
contrast differences between the training and test images of this dataset.
"""

from __future__ import annotations

from typing import Any


def augmentation(rotation: float = 20.0, shift: float = 0.15, zoom: float = 0.15,
                 shear: float = 0.2, flip: bool = True, robust: bool = False,
                 seed: int | None = None) -> Any:
    """A ``keras.Sequential`` of random layers for ``float32`` [0, 1] image batches.

    Parameters
    ----------
    rotation
        Maximum rotation in degrees.
    shift, zoom, shear
        Maximum translation (fraction of size), zoom (fraction) and shear intensity.
    flip
        Random horizontal flips.
    robust
        Also jitter brightness (±0.15) and contrast (±0.3).
    """
    import keras
    from keras import layers

    steps = []
    if flip:
        steps.append(layers.RandomFlip("horizontal", seed=seed))
    if rotation:
        steps.append(layers.RandomRotation(rotation / 360.0, fill_mode="constant", seed=seed))
    if shift:
        steps.append(layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed))
    if zoom:
        steps.append(layers.RandomZoom(zoom, fill_mode="constant", seed=seed))
    if shear:
        steps.append(layers.RandomShear(x_factor=shear, y_factor=shear, fill_mode="constant",
                                        seed=seed))
    if robust:
        steps.append(layers.RandomBrightness(0.15, value_range=(0.0, 1.0), seed=seed))
        steps.append(layers.RandomContrast(0.3, value_range=(0.0, 1.0), seed=seed))
    return keras.Sequential(steps, name="augmentation")
