"""Shared fixtures: tiny synthetic datasets and models, so the suite stays fast on 2 CPU cores."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chest_xray"


def write_phantom_folder(root: Path, n: int = 48, size: int = 64, seed: int = 0) -> Path:
    """A Kaggle-layout folder (train/ and test/) of phantom X-rays with official-style names."""
    import cv2

    from xaixray.data import make_phantoms

    ph = make_phantoms(n, size, seed=seed)
    for i, (image, label) in enumerate(zip(ph.images, ph.labels, strict=True)):
        split = "test" if i % 4 == 0 else "train"
        cls = ("NORMAL", "PNEUMONIA")[label]
        name = f"person{i}_bacteria_{2 * i}.jpeg" if label else f"IM-{i:04d}-0001.jpeg"
        folder = root / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), image)
    return root


def png_bomb(width: int, height: int) -> bytes:
    """A valid all-black grayscale PNG of ``width x height`` pixels, a few hundred bytes per Mpx."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pack = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one byte per pixel
    idat = b"".join(pack.compress(row) for _ in range(height)) + pack.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def write_phantom_images(folder: Path, n: int, size: int, seed: int = 0,
                         stem: str = "case") -> list[Path]:
    """``n`` phantom X-rays as ``folder/<stem><i>.png``; returns their paths in order."""
    import cv2

    from xaixray.data import make_phantoms

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(make_phantoms(n, size, seed=seed).images):
        paths.append(folder / f"{stem}{i}.png")
        cv2.imwrite(str(paths[-1]), image)
    return paths


@pytest.fixture(scope="session")
def phantom_folder(tmp_path_factory) -> Path:
    return write_phantom_folder(tmp_path_factory.mktemp("phantoms"))


@pytest.fixture(scope="session")
def tiny_classifier():
    """An untrained, tiny sigmoid CNN wrapped as a Classifier (32x32 grayscale)."""
    import keras

    from xaixray import Classifier

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    return Classifier.from_keras(model, name="tiny", scaling="unit")  # stated: no guess


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, tiny_classifier) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_classifier.save(path)
    return path


@pytest.fixture(scope="session")
def phantom_model():
    """A tiny CNN trained on phantoms until it detects their opacities (~10 s on 2 cores)."""
    import keras
    from keras import layers

    from xaixray import Classifier
    from xaixray.data import make_phantoms

    train = make_phantoms(320, 48, seed=1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((48, 48, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 3, padding="same", activation="relu", name="last_conv"),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(train.images[..., None] / 255.0, train.labels, epochs=12,
                        batch_size=32, verbose=0)
    clf = Classifier.from_keras(model, name="phantom_cnn", scaling="unit")  # stated: no guess
    return clf, history.history["accuracy"][-1]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
