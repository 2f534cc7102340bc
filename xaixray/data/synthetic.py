"""Synthetic chest X-ray phantoms with known lesions.

Each phantom is a grayscale image with a body outline, two dark lung fields, a bright spine and
faint ribs. PNEUMONIA phantoms carry one or two bright blurred opacities inside a lung; their
masks are returned, so tests and examples can check *where* an explanation points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Phantoms:
    """A batch of phantoms.

    Attributes
    ----------
    images
        ``uint8`` ``(n, size, size)``.
    labels
        ``int`` ``(n,)``: 0 = NORMAL, 1 = PNEUMONIA (indices into
        :data:`~xaixray.labels.CLASS_NAMES`).
    masks
        ``bool`` ``(n, size, size)``: the opacities (all False for NORMAL).
    kind
        What the images are, for their names in reports (``phantom-0003-PNEUMONIA``).
    description
        Where they came from, for the audit's ``data`` line.
    skipped
        ``"path: reason"`` for every source file that could not be read (real X-rays only).
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    kind: str = "phantom"
    description: str = ""
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def make_phantoms(n: int = 64, size: int = 128, pneumonia_fraction: float = 0.5,
                  seed: int = 0, lesion_contrast: float = 0.35) -> Phantoms:
    """Make ``n`` phantoms, a ``pneumonia_fraction`` of them with opacities.

    Deterministic for a given ``seed``.
    """
    from skimage.draw import ellipse
    from skimage.filters import gaussian

    rng = np.random.default_rng(seed)
    labels = (np.arange(n) < round(n * pneumonia_fraction)).astype(int)
    rng.shuffle(labels)
    images = np.zeros((n, size, size), np.uint8)
    masks = np.zeros((n, size, size), bool)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        img = np.full((size, size), 0.08 + 0.04 * rng.random())
        # body
        rr, cc = ellipse(size * 0.55, size * 0.5, size * 0.48, size * 0.44, (size, size))
        img[rr, cc] = 0.55 + 0.1 * rng.random()
        # lungs (dark), with jittered position and size
        lungs = []
        for side in (-1, 1):
            cy = size * (0.5 + 0.03 * rng.standard_normal())
            cx = size * (0.5 + side * (0.19 + 0.02 * rng.standard_normal()))
            ry, rx = size * (0.3 + 0.03 * rng.random()), size * (0.12 + 0.02 * rng.random())
            rr, cc = ellipse(cy, cx, ry, rx, (size, size))
            img[rr, cc] = 0.22 + 0.06 * rng.random()
            lungs.append((cy, cx, ry, rx))
        # ribs: faint bright arcs across the lungs
        for k in range(6):
            y0 = 0.25 + 0.09 * k + 0.01 * rng.standard_normal()
            arc = np.abs(yy - (y0 + 0.15 * (xx - 0.5) ** 2)) < 0.008
            img[arc] += 0.08
        # spine
        img[:, int(size * 0.47):int(size * 0.53)] += 0.25
        if labels[i]:
            for _ in range(rng.integers(1, 3)):
                cy, cx, ry, rx = lungs[rng.integers(0, 2)]
                ly = cy + ry * 0.5 * rng.uniform(-1, 1)
                lx = cx + rx * 0.4 * rng.uniform(-1, 1)
                r = size * rng.uniform(0.06, 0.1)
                rr, cc = ellipse(ly, lx, r, r * rng.uniform(0.7, 1.2), (size, size))
                blob = np.zeros((size, size))
                blob[rr, cc] = 1.0
                masks[i] |= blob > 0
                img += lesion_contrast * gaussian(blob, sigma=size / 60)
        img = gaussian(img, sigma=size / 200) + 0.03 * rng.standard_normal((size, size))
        images[i] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return Phantoms(images, labels, masks)


def make_subtype_phantoms(n: int = 96, size: int = 64, seed: int = 0) -> Phantoms:
    """Phantoms of three kinds, a third each: labels index
    :data:`~xaixray.labels.SUBTYPE_CLASS_NAMES` (0 NORMAL, 1 BACTERIA, 2 VIRAL).

    BACTERIA phantoms carry one large dense opacity in one lung (lobar, as bacterial pneumonia
    often is); VIRAL ones several small faint opacities spread over both lungs (patchy,
    bilateral). Masks mark the opacities. Deterministic for a given ``seed``.
    """
    from skimage.draw import ellipse
    from skimage.filters import gaussian

    rng = np.random.default_rng(seed + 7919)
    base = make_phantoms(n, size, pneumonia_fraction=0.0, seed=seed)
    labels = np.arange(n) % 3
    rng.shuffle(labels)
    images = base.images.astype(float) / 255.0
    masks = np.zeros((n, size, size), bool)
    for i in range(n):
        if labels[i] == 0:
            continue
        # (count, radius, contrast) of the opacities; lungs as in make_phantoms, about
        blobs = [(1, 0.11, 0.45)] if labels[i] == 1 else [(int(rng.integers(4, 7)), 0.035, 0.3)]
        for count, radius, contrast in blobs:
            for _ in range(count):
                side = rng.choice((-1, 1))
                cy = size * (0.5 + 0.15 * rng.uniform(-1, 1))
                cx = size * (0.5 + side * (0.19 + 0.05 * rng.uniform(-1, 1)))
                r = size * radius * rng.uniform(0.85, 1.15)
                rr, cc = ellipse(cy, cx, r, r * rng.uniform(0.7, 1.2), (size, size))
                blob = np.zeros((size, size))
                blob[rr, cc] = 1.0
                masks[i] |= blob > 0
                images[i] += contrast * gaussian(blob, sigma=size / 80)
    return Phantoms(np.clip(images * 255, 0, 255).astype(np.uint8), labels, masks)


def write_subtype_folder(root: str | Path, n: int = 96, size: int = 64, seed: int = 0,
                         test_fraction: float = 0.25) -> Path:
    """:func:`make_subtype_phantoms` as a Kaggle-layout folder: ``train/`` and ``test/``, each
    with ``NORMAL/IM-*.png`` and ``PNEUMONIA/person*_bacteria_*.png`` /
    ``person*_virus_*.png``, so that ``--classes 3`` reads the subtype from the file names."""
    import cv2

    root = Path(root)
    ph = make_subtype_phantoms(n, size, seed)
    every = max(2, round(1 / test_fraction)) if test_fraction > 0 else n + 1
    for i, (image, label) in enumerate(zip(ph.images, ph.labels, strict=True)):
        split = "test" if i % every == 0 else "train"
        name = (f"IM-{i:04d}-0001.png", f"person{i}_bacteria_{2 * i}.png",
                f"person{i}_virus_{2 * i + 1}.png")[label]
        folder = root / split / ("NORMAL" if label == 0 else "PNEUMONIA")
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), image)
    return root
