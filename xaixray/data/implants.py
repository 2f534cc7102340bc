"""Known truth on real X-rays: synthetic implants in real NORMAL radiographs, with their masks.

Phantoms (:mod:`.synthetic`) are far from real X-rays, and a phantom lesion changes the image's
brightness, so a model can detect it without looking at it. Here every image is a real NORMAL
X-ray and both classes carry an implant of the **same area and the same added intensity**:

- ``variant="lesion"``: the positive class (PNEUMONIA) gets a soft-edged opacity, a filled disc
  blurred at its edge, at a random place inside a lung field (the lung box of
  :func:`xaixray.anatomy.lung_box`, left or right half); the negative class (NORMAL) gets a
  *control* of the same footprint and the same total added intensity whose brightness lies in a
  ring. Global image statistics cannot tell them apart: a model has to look at the implant. The
  mask of a positive is its disc; negatives have the mask of their control.
- ``variant="shortcut"``: no lesion; a small burned-in text marker (like the "R"/"L" laterality
  tags of real X-rays) in the top-left corner for positives and the top-right corner for
  negatives. The mask is the marker: a faithful map of a model that learnt the shortcut peaks on
  it.

:func:`write_implants` writes such a set as ``DIR/{NORMAL,PNEUMONIA}/NAME.png`` with
``NAME_mask.png`` beside every image, so ``xaixray audit MODEL DIR`` scores the maps against it.
``benchmarks/known_truth.py`` trains zoo models on it, proves that they rely on the implant, and
ranks the methods.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..anatomy import lung_box
from ..errors import DataError, ImageError
from ..labels import CLASS_NAMES
from .synthetic import Phantoms

VARIANTS = ("lesion", "shortcut")
CONTRAST = 0.3
"""Peak brightness a lesion adds, on the [0, 1] scale (a faint-to-moderate opacity)."""
RADIUS = (0.05, 0.08)
"""Implant radius range, as a fraction of the image side."""


def make_implants(xrays: Sequence[np.ndarray], size: int = 128, variant: str = "lesion",
                  pneumonia_fraction: float = 0.5, seed: int = 0,
                  contrast: float = CONTRAST) -> Phantoms:
    """Implant known evidence into real X-rays (see the module docstring).

    Parameters
    ----------
    xrays
        Real NORMAL X-rays, ``uint8`` 2-D or 3-D (as :func:`xaixray.load_image` returns them);
        each is used once, resized to ``size`` x ``size``.
    size
        Side of the output images.
    variant
        ``"lesion"`` or ``"shortcut"``.
    pneumonia_fraction
        Share of positives.
    seed
        Seeds the labels, places and sizes.
    contrast
        Peak added brightness of a lesion, on [0, 1].

    Returns
    -------
    Phantoms
        ``images`` ``uint8`` ``(n, size, size)``, ``labels`` (1 = PNEUMONIA), ``masks``.
    """
    from skimage.transform import resize

    if variant not in VARIANTS:
        raise DataError(f"unknown implant variant {variant!r}; use {' or '.join(VARIANTS)}")
    if len(xrays) < 2:
        raise DataError("implants need at least 2 X-rays")
    rng = np.random.default_rng(seed)
    n = len(xrays)
    labels = (np.arange(n) < round(n * pneumonia_fraction)).astype(int)
    rng.shuffle(labels)
    images = np.zeros((n, size, size), np.uint8)
    masks = np.zeros((n, size, size), bool)
    plain = rng.random(n) < 0.5  # negatives without any implant
    for i, xray in enumerate(xrays):
        gray = np.asarray(xray, np.float64)
        gray = gray.mean(axis=-1) if gray.ndim == 3 else gray
        base = resize(gray / 255.0, (size, size), anti_aliasing=True)
        if variant == "lesion" and (labels[i] or not plain[i]):
            added, masks[i] = _lesion(base, bool(labels[i]), rng, contrast)
        elif variant == "lesion":
            added = 0.0
        else:
            added, masks[i] = _marker(size, bool(labels[i]))
            base = np.where(masks[i], 0.0, base)  # the marker is burned in: it replaces pixels
        images[i] = np.clip((base + added) * 255.0, 0, 255).round().astype(np.uint8)
    return Phantoms(images, labels, masks, kind="implant",
                    description=f"{n} {variant} implants in real X-rays ({size} px, "
                                f"contrast {contrast:g}, seed {seed})")


def implants_from_folder(root: str | os.PathLike, n: int, size: int = 128,
                         variant: str = "lesion", seed: int = 0, contrast: float = CONTRAST,
                         split: str | None = "test") -> Phantoms:
    """Implants (:func:`make_implants`) into ``n`` NORMAL X-rays of a labelled folder.

    Parameters
    ----------
    root
        A labelled folder (:func:`~xaixray.data.load_folder`: class folders, or a dataset root
        whose ``split`` is read). Only its NORMAL images are used, ``n`` of them drawn with
        ``seed``; mask files beside them are never read as X-rays.
    n, size, variant, seed, contrast
        As in :func:`make_implants`.
    split
        The split of a dataset root.

    Returns
    -------
    Phantoms
        Its ``description`` names the folder, for the audit.
    """
    from ..imaging import load_image
    from .folders import load_folder

    if n < 2:
        raise DataError(f"implants need at least 2 X-rays, got {n}")
    images = load_folder(root, split=split)
    normal = [p for p, label in zip(images.paths, images.labels) if label == 0]
    if len(normal) < 2:
        raise DataError(f"{root}: implants need at least 2 NORMAL X-rays, found {len(normal)}")
    rng = np.random.default_rng(seed)
    films, skipped = [], []
    for i in rng.permutation(len(normal)):  # an unreadable file is listed, and the next one used
        try:
            films.append(load_image(normal[i]))
        except ImageError as err:
            skipped.append(f"{normal[i]}: {err}")
        if len(films) == n:
            break
    if len(films) < 2:
        raise DataError(f"{root}: implants need at least 2 readable NORMAL X-rays, found "
                        f"{len(films)}" + (f" ({len(skipped)} unreadable)" if skipped else ""))
    implants = make_implants(films, size, variant, seed=seed, contrast=contrast)
    implants.skipped = skipped
    implants.description = (f"{len(films)} {variant} implants in NORMAL X-rays of {root} "
                            f"({size} px, contrast {contrast:g}, seed {seed})")
    return implants


def _lesion(base: np.ndarray, positive: bool, rng: np.random.Generator,
            contrast: float) -> tuple[np.ndarray, np.ndarray]:
    """A soft filled disc (positive) or a ring of the same footprint and total (control)."""
    from skimage.filters import gaussian

    size = base.shape[0]
    top, bottom, left, right = lung_box((base * 255).astype(np.uint8))
    r = size * rng.uniform(*RADIUS)
    half = (left, (left + right) / 2) if rng.random() < 0.5 else ((left + right) / 2, right)
    cy = rng.uniform(top + 0.25 * (bottom - top), bottom - 0.25 * (bottom - top))
    cx = rng.uniform(half[0] + 0.3 * (half[1] - half[0]), half[1] - 0.3 * (half[1] - half[0]))
    yy, xx = np.mgrid[0:size, 0:size]
    dist = np.hypot(yy - cy, xx - cx)
    footprint = dist <= r
    disc = gaussian(footprint.astype(np.float64), sigma=max(r / 4, 0.5))
    if positive:
        return contrast * disc / max(disc.max(), 1e-9), footprint
    ring = gaussian(((dist <= r) & (dist >= 0.6 * r)).astype(np.float64), sigma=max(r / 8, 0.5))
    lesion_total = (contrast * disc / max(disc.max(), 1e-9)).sum()
    return ring * lesion_total / max(ring.sum(), 1e-9), footprint


def _marker(size: int, positive: bool) -> tuple[np.ndarray, np.ndarray]:
    """A white "L" in the top-left (positive) or top-right (negative) corner, and its mask."""
    import cv2

    canvas = np.zeros((size, size), np.uint8)
    scale = size / 160
    thickness = max(1, round(2 * scale))
    (w, h), _ = cv2.getTextSize("L", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    margin = max(2, size // 20)
    x = margin if positive else size - margin - w
    cv2.putText(canvas, "L", (x, margin + h), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thickness,
                cv2.LINE_AA)
    mask = canvas > 0
    return canvas / 255.0, mask


def write_implants(implants: Phantoms, folder: str | os.PathLike, prefix: str = "implant"
                   ) -> list[Path]:
    """Write implants as ``folder/{NORMAL,PNEUMONIA}/PREFIX-NNNN.png`` with
    ``PREFIX-NNNN_mask.png`` beside each that has an implant; returns the image paths."""
    import cv2

    folder = Path(folder)
    paths = []
    for i, (image, label, mask) in enumerate(zip(implants.images, implants.labels,
                                                 implants.masks)):
        target = folder / CLASS_NAMES[int(label)]
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{prefix}-{i:04d}.png"
        cv2.imwrite(str(path), image)
        if mask.any():
            cv2.imwrite(str(path.with_name(f"{path.stem}_mask.png")),
                        mask.astype(np.uint8) * 255)
        paths.append(path)
    return paths
