"""Synthetic chest X-ray phantoms with known lesions.

Each phantom is a grayscale image with a body outline, two dark lung fields, a bright spine and
faint ribs. PNEUMONIA phantoms carry one or two bright blurred opacities inside a lung; their
masks are returned, so tests and examples can check *where* an explanation points.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray

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
