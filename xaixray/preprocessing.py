"""The one place where images become model inputs.

A :class:`Preprocessing` describes what a model expects — input size, channels, pixel scaling and
layout — and is saved with every model xaixray writes. Two steps, used by prediction, training and
every explainer alike:

1. :meth:`Preprocessing.fit` (NumPy/OpenCV): any ``uint8`` image → ``(h, w, c)`` ``uint8`` at the
   model's size and channel count, optionally cropped to the lungs first and contrast-equalised
   after. Explainers perturb images in this *model frame*; :meth:`Preprocessing.map_to_original`
   and :meth:`Preprocessing.map_to_model` carry maps between it and the original image's frame
   (the inverse of the crop and the resize).
2. :meth:`Preprocessing.to_model_input` (Keras ops, so it runs inside ``tf.function`` and
   ``tf.data``): a ``float32`` batch in [0, 1] → the model's scaling and layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .anatomy import Box, lung_box
from .errors import ModelError
from .imaging import ImageLike, cut_box, load_image, resize_map

SCALINGS = {
    "unit": "pixels / 255, in [0, 1] (the seeds' custom models)",
    "raw": "pixels as 0-255 floats",
    "symmetric": "pixels / 127.5 - 1, in [-1, 1] (MobileNet, Inception, EfficientNetV2 family)",
    "caffe": "RGB->BGR and ImageNet mean subtracted from 0-255 (ResNet50, VGG family)",
    "torch": "[0, 1] then ImageNet mean/std standardised (DenseNet family)",
    "standardize": "per-image zero mean, unit variance (robust to exposure and contrast shifts)",
}
EQUALIZATIONS = {
    "none": "pixels as decoded",
    "clahe": "contrast-limited adaptive histogram equalisation (OpenCV CLAHE, clip 2.0, 8x8 "
             "tiles) at the model's input size: evens out exposure and contrast between scanners",
}
CROPS = {
    "none": "the whole image",
    "lungs": "the box around both lung fields (xaixray.anatomy.lung_box) before resizing: every "
             "image framed the same way, whatever the film's framing",
}
LAYOUTS = {
    "image": "(height, width, channels)",
    "rows": "(height, width * channels): each image row is one LSTM time step (seed 001)",
}


FIELDS = ("input_size", "channels", "scaling", "layout", "equalize", "crop")


@dataclass(frozen=True)
class Preprocessing:
    """What a model expects as input.

    Parameters
    ----------
    input_size
        ``(height, width)`` the image is resized to (aspect ratio not kept, as in the seeds).
    channels
        1 (grayscale) or 3 (grayscale replicated, or colour).
    scaling
        One of :data:`SCALINGS`.
    layout
        One of :data:`LAYOUTS`.
    equalize
        One of :data:`EQUALIZATIONS`, applied after resizing (``"none"`` for every seed model).
    crop
        One of :data:`CROPS`, applied before resizing (``"none"`` for every seed model).
    """

    input_size: tuple[int, int] = (224, 224)
    channels: int = 3
    scaling: str = "unit"
    layout: str = "image"
    equalize: str = "none"
    crop: str = "none"

    def __post_init__(self) -> None:
        size = tuple(int(s) for s in self.input_size)
        object.__setattr__(self, "input_size", size)
        if len(size) != 2 or min(size) < 8:
            raise ModelError(f"input_size must be (height, width) of at least 8 px, got {size}")
        if self.channels not in (1, 3):
            raise ModelError(f"channels must be 1 or 3, got {self.channels}")
        if self.scaling not in SCALINGS:
            raise ModelError(f"unknown scaling {self.scaling!r}; choose from {sorted(SCALINGS)}")
        if self.layout not in LAYOUTS:
            raise ModelError(f"unknown layout {self.layout!r}; choose from {sorted(LAYOUTS)}")
        if self.equalize not in EQUALIZATIONS:
            raise ModelError(f"unknown equalize {self.equalize!r}; choose from "
                             f"{sorted(EQUALIZATIONS)}")
        if self.crop not in CROPS:
            raise ModelError(f"unknown crop {self.crop!r}; choose from {sorted(CROPS)}")
        if self.scaling in ("caffe", "torch") and self.channels != 3:
            raise ModelError(f"scaling {self.scaling!r} needs 3 channels")

    # ------------------------------------------------------------------ shapes
    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape of one image in the model frame: ``(h, w, c)``."""
        return (*self.input_size, self.channels)

    @property
    def model_input_shape(self) -> tuple[int, ...]:
        """Shape of one model input without the batch axis."""
        h, w = self.input_size
        if self.layout == "rows":
            return (h, w * self.channels)
        return (h, w, self.channels)

    # ------------------------------------------------------------------ step 1: NumPy
    def crop_box(self, image: np.ndarray) -> Box | None:
        """The part of ``image`` the model sees, ``(top, bottom, left, right)``; ``None``: all."""
        if self.crop == "lungs":
            return lung_box(image)
        return None

    def fit(self, image: np.ndarray, box: Box | None = None) -> np.ndarray:
        """Crop, resize (and equalise) a ``uint8`` ``(H, W)``/``(H, W, 3)`` image to ``(h, w, c)``.

        ``box`` is :meth:`crop_box` of ``image`` when already computed.
        """
        import cv2

        if self.crop != "none":
            top, bottom, left, right = self.crop_box(image) if box is None else box
            image = image[top:bottom, left:right]
        h, w = self.input_size
        if image.ndim == 3 and self.channels == 1:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        shrinking = image.shape[0] >= h and image.shape[1] >= w
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        out = cv2.resize(image, (w, h), interpolation=interpolation)
        if self.equalize == "clahe":
            clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
            out = clahe.apply(out) if out.ndim == 2 else np.dstack(
                [clahe.apply(np.ascontiguousarray(out[:, :, i])) for i in range(out.shape[2])])
        if out.ndim == 2:
            out = out[:, :, None]
            if self.channels == 3:
                out = np.repeat(out, 3, axis=2)
        return out

    def prepare(self, images: Iterable[ImageLike],
                boxes: Sequence[Box | None] | None = None) -> np.ndarray:
        """Load and fit images: a ``float32`` batch ``(n, h, w, c)`` in [0, 1].

        ``boxes``: each image's :meth:`crop_box`, when already computed.
        """
        images = list(images)
        boxes = [None] * len(images) if boxes is None else list(boxes)
        batch = [self.fit(load_image(im), box) for im, box in zip(images, boxes, strict=True)]
        if not batch:
            return np.zeros((0, *self.image_shape), np.float32)
        return np.stack(batch).astype(np.float32) / 255.0

    # ------------------------------------------------------------------ maps between frames
    def map_to_original(self, heatmap: np.ndarray, shape: tuple[int, int],
                        box: Box | None = None, nearest: bool = False,
                        outside: float = 0.0) -> np.ndarray:
        """A model-frame map ``(h, w)`` in the original image's frame ``shape`` ``(H, W)``.

        The inverse of :meth:`fit`'s resize and crop: the map is resized onto ``box`` (the
        whole image when ``None``) and the rest, which the model never saw, is ``outside``.
        ``nearest`` keeps label maps (superpixels) labels.
        """
        if box is None:
            return resize_map(heatmap, shape, nearest=nearest)
        top, bottom, left, right = box
        inside = resize_map(heatmap, (bottom - top, right - left), nearest=nearest)
        dtype = np.result_type(inside.dtype, np.min_scalar_type(outside))
        out = np.full(tuple(shape), outside, dtype=dtype)
        out[top:bottom, left:right] = inside
        return out

    def map_to_model(self, heatmap: np.ndarray, box: Box | None = None,
                     frame: tuple[int, int] | None = None) -> np.ndarray:
        """An original-frame map in the model frame: :meth:`fit`'s crop and resize.

        ``frame``: the original image's ``(H, W)``, when the map has another resolution of it.
        """
        if box is not None:
            heatmap = cut_box(heatmap, box, frame)
        return resize_map(heatmap, self.input_size)

    # ------------------------------------------------------------------ step 2: Keras ops
    def to_model_input(self, batch: Any) -> Any:
        """Scale and lay out a ``float32`` batch ``(n, h, w, c)`` in [0, 1] for the model.

        Works on NumPy arrays and backend tensors (inside ``tf.function`` and ``tf.data``).
        """
        from keras import ops

        x = ops.cast(batch, "float32")
        if self.scaling == "raw":
            x = x * 255.0
        elif self.scaling == "symmetric":
            x = x * 2.0 - 1.0
        elif self.scaling == "caffe":
            mean = ops.convert_to_tensor([103.939, 116.779, 123.68], "float32")
            x = ops.flip(x, axis=-1) * 255.0 - mean
        elif self.scaling == "torch":
            mean = ops.convert_to_tensor([0.485, 0.456, 0.406], "float32")
            std = ops.convert_to_tensor([0.229, 0.224, 0.225], "float32")
            x = (x - mean) / std
        elif self.scaling == "standardize":
            mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
            std = ops.std(x, axis=(1, 2, 3), keepdims=True)
            x = (x - mean) / ops.maximum(std, 1e-3)
        if self.layout == "rows":
            h, w = self.input_size
            x = ops.reshape(x, (-1, h, w * self.channels))
        return x

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        known = {k: d[k] for k in FIELDS if k in d}
        return cls(**known)

    def replace(self, **changes: Any) -> Preprocessing:
        """A copy with some fields changed (``None`` values are ignored)."""
        d = self.to_dict()
        d.update({k: v for k, v in changes.items() if v is not None})
        return Preprocessing.from_dict(d)


def infer_from_input_shape(shape: Sequence[int | None]) -> Preprocessing:
    """Guess a :class:`Preprocessing` from a Keras model's input shape (batch axis excluded).

    ``(h, w, c)`` gives layout ``image``; ``(h, w*3)`` a ``rows`` layout when divisible by 3
    (seed 001's row-LSTM reads a 150x150x3 image as 150 rows of 450). Scaling cannot be inferred
    from a shape and defaults to ``unit``;
    :func:`xaixray.preprocessing_inference.infer_preprocessing` reads it from the model's layers.
    """
    shape = tuple(shape)
    if len(shape) == 3:
        h, w, c = shape
        if c not in (1, 3):
            raise ModelError(f"model input has {c} channels; xaixray handles 1 or 3")
        h = h or 224
        w = w or 224
        return Preprocessing((h, w), int(c), "unit", "image")
    if len(shape) == 2 and shape[0] and shape[1]:
        h, width = shape
        if width % 3 == 0:
            return Preprocessing((h, width // 3), 3, "unit", "rows")
        return Preprocessing((h, width), 1, "unit", "rows")
    raise ModelError(f"cannot use a model whose input shape is {shape}; expected (h, w, c) "
                     "images or (rows, row_length) sequences")
