"""What a Keras model written without xaixray expects as input, read from its own layers.

:func:`infer_preprocessing` reads input size, channels and layout from the input shape and the
pixel scaling from the first layers that change pixel values, walking from the input through
augmentation layers (inactive at inference) and into nested models:

- ``Rescaling(1/255)``, ``Rescaling(1/127.5, offset=-1)``: the model expects 0..255
  (``"raw"``); the same holds for the ``keras.applications`` models that carry their own
  preprocessing (EfficientNet, EfficientNetV2, ConvNeXt, MobileNetV3).
- ``Normalization``: 0..255 when its means are pixel values (ConvNeXt), [0, 1] when they are
  fractions.

Where the layers cannot tell (``keras.applications`` ResNet50, VGG, DenseNet, Inception, ...
expect ``preprocess_input`` outside the model), the family is recognised by its layer names and
its documented ``preprocess_input`` mode is taken; failing that, ``"unit"``. Every field is
marked :data:`READ` (from the model) or :data:`GUESSED` (the file cannot say), with a reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .preprocessing import FIELDS, Preprocessing, infer_from_input_shape

READ = "read"
"""The field was read from the model file (its input shape, its layers, xaixray's metadata)."""
GUESSED = "guessed"
"""The file cannot say: xaixray took a default or the documented value of a model family."""
STATED = "stated"
"""The user said so (a keyword argument or a command-line flag)."""

TRANSPARENT_PREFIXES = ("Random",)
"""Layer classes whose names start so are augmentation: inactive at inference."""
TRANSPARENT_LAYERS = frozenset({
    "InputLayer", "Resizing", "CenterCrop", "Identity", "Dropout", "SpatialDropout2D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "AugMix", "RandAugment", "MixUp",
    "CutMix", "ZeroPadding2D", "Cropping2D", "Permute", "Reshape", "Activation",
})
"""Layers that leave the pixel range as it is at inference."""
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "TFSMLayer"})
"""Layers whose computation is code xaixray does not read (a Lambda may hold preprocess_input)."""
MAX_UNIT_SPAN = 10.0
"""A ``Rescaling`` whose output spans at most this much for 0..255 input expects 0..255."""

FAMILIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    # (family, layer names all present, layer names none present, preprocess_input mode)
    ("ResNet (V1)", ("conv1_conv", "conv2_block1_add"), ("post_bn", "conv2_block1_preact_bn"),
     "caffe"),
    ("ResNetV2", ("conv2_block1_preact_bn", "post_bn"), (), "symmetric"),
    ("DenseNet", ("conv1_conv", "conv2_block1_concat"), (), "torch"),
    ("Xception", ("block1_conv1", "block14_sepconv2"), (), "symmetric"),
    ("VGG", ("block1_conv1", "block5_conv3", "block5_pool"), ("block14_sepconv2",), "caffe"),
    ("InceptionV3", ("mixed0", "mixed10"), (), "symmetric"),
    ("InceptionResNetV2", ("block35_1_ac", "conv_7b"), (), "symmetric"),
    ("MobileNet", ("conv_dw_1", "conv_pw_13"), (), "symmetric"),
    ("MobileNetV2", ("expanded_conv_depthwise", "block_16_project"), (), "symmetric"),
    ("NASNet", ("stem_conv1", "reduction_conv_1_stem_1"), (), "symmetric"),
)
"""``keras.applications`` families whose preprocessing is outside the model, by layer names,
with the scaling of their documented ``preprocess_input`` (``tf`` mode is ``"symmetric"``)."""


@dataclass(frozen=True)
class InferredPreprocessing:
    """A :class:`~xaixray.preprocessing.Preprocessing` and how each field was found.

    Attributes
    ----------
    preprocessing
        What xaixray will feed the model.
    provenance
        ``{field: "read" | "guessed" | "stated"}`` for every field of
        :data:`~xaixray.preprocessing.FIELDS`.
    reasons
        ``{field: one sentence}``: where it was read, or why it is a guess.
    """

    preprocessing: Preprocessing
    provenance: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


def infer_preprocessing(model: Any) -> InferredPreprocessing:
    """Infer what ``model`` (a built Keras model) expects, marking each field read or guessed.

    Raises
    ------
    ModelError
        If the input shape is not an image or a row sequence xaixray can feed.
    """
    shape = _input_shape(model)
    pre = infer_from_input_shape(shape)
    provenance = {f: GUESSED for f in FIELDS}
    reasons = {"equalize": "the file cannot say; none assumed",
               "crop": "the file cannot say; none assumed"}
    if len(shape) == 3:
        sized = shape[0] is not None and shape[1] is not None
        provenance.update(channels=READ, layout=READ,
                          input_size=READ if sized else GUESSED)
        reasons.update(channels=f"input shape {_shape_text(shape)}",
                       layout=f"input shape {_shape_text(shape)} is an image",
                       input_size=f"input shape {_shape_text(shape)}" if sized else
                       "the input takes any size; 224x224 assumed")
    else:
        provenance["input_size"] = READ
        reasons.update(input_size=f"input shape {_shape_text(shape)}",
                       channels=f"rows of {shape[1]} read as {pre.channels} channel(s)",
                       layout=f"input shape {_shape_text(shape)} read as rows of an image")
    scaling, how, why = infer_scaling(model, pre.channels)
    if scaling is not None:
        pre = pre.replace(scaling=scaling)
    provenance["scaling"] = how
    reasons["scaling"] = why
    return InferredPreprocessing(pre, provenance, reasons)


def infer_scaling(model: Any, channels: int = 3) -> tuple[str | None, str, str]:
    """The scaling ``model`` expects: ``(scaling or None, "read" | "guessed", reason)``.

    ``None`` means nothing could be read or recognised (the caller keeps its default).
    """
    found = read_scaling(model)
    if found is not None:
        return found[0], READ, found[1]
    first = next(first_layers(model), None)
    kind = type(first).__name__
    opening = (f"its first layer {first.name!r} ({kind}) may preprocess, but cannot be read"
               if kind in CODE_LAYERS else "no preprocessing layer in the model")
    family = recognise_family(model)
    if family is not None and (channels == 3 or family[1] not in ("caffe", "torch")):
        name, scaling = family
        return scaling, GUESSED, (f"{opening}; its layer names are those of keras.applications "
                                  f"{name}, whose documented preprocess_input is {scaling!r}")
    return None, GUESSED, f"{opening} and no known family; [0, 1] ('unit') assumed"


def read_scaling(model: Any) -> tuple[str, str] | None:
    """``(scaling, reason)`` from the first layer after the input that changes pixel values,
    or ``None`` when that layer is not a preprocessing layer xaixray can read."""
    for layer in first_layers(model):
        kind = type(layer).__name__
        if kind == "Rescaling":
            scale = float(np.mean(np.abs(np.asarray(layer.scale, np.float64))))
            offset = np.asarray(layer.offset, np.float64)
            span = 255.0 * scale
            what = f"Rescaling(scale={_num(layer.scale)}, offset={_num(offset)})"
            if span <= MAX_UNIT_SPAN:
                return "raw", f"layer {layer.name!r} is {what}: the model expects 0..255"
            return "unit", f"layer {layer.name!r} is {what}: the model expects [0, 1]"
        if kind == "Normalization":
            mean = np.asarray(_weight(layer, "mean"), np.float64).ravel()
            variance = np.asarray(_weight(layer, "variance"), np.float64).ravel()
            if mean.size and np.allclose(mean, 0.0) and np.allclose(variance, 1.0):
                continue  # not adapted: the identity
            if mean.size and float(np.max(np.abs(mean))) > 2.0:
                return "raw", (f"layer {layer.name!r} is Normalization(mean={_num(mean)}): the "
                               "means are pixel values, so the model expects 0..255")
            return "unit", (f"layer {layer.name!r} is Normalization(mean={_num(mean)}): the "
                            "means are fractions, so the model expects [0, 1]")
        return None
    return None


def first_layers(model: Any) -> Iterator[Any]:
    """The layers from the input on, depth first into nested models, skipping augmentation and
    other layers inert at inference (consume only as far as needed: it walks the whole model)."""
    for layer in getattr(model, "layers", []):
        kind = type(layer).__name__
        if kind.startswith(TRANSPARENT_PREFIXES) or (
                kind in TRANSPARENT_LAYERS and not (kind == "Activation" and _activates(layer))):
            continue
        if getattr(layer, "layers", None):
            yield from first_layers(layer)
        else:
            yield layer


def recognise_family(model: Any) -> tuple[str, str] | None:
    """``(family, scaling)`` of a ``keras.applications`` base found by its layer names."""
    names = {la.name for la in _all_layers(model)}
    for family, present, absent, scaling in FAMILIES:
        if all(n in names for n in present) and not any(n in names for n in absent):
            return family, scaling
    return None


def scaling_notice(metadata: dict) -> str | None:
    """One sentence when a classifier's scaling was guessed, saying how to state it; else None.

    ``metadata``: :meth:`xaixray.Classifier.metadata` (also a report's ``model``).
    """
    if (metadata.get("provenance") or {}).get("scaling") != GUESSED:
        return None
    scaling = (metadata.get("preprocessing") or {}).get("scaling", "unit")
    why = (metadata.get("provenance_reasons") or {}).get("scaling", "the file cannot say")
    return (f"scaling guessed as {scaling!r} ({why}); if the model was trained otherwise, "
            "state it with --scaling (scaling= in Python)")


def _all_layers(model: Any) -> Iterator[Any]:
    for layer in getattr(model, "layers", []):
        yield layer
        if getattr(layer, "layers", None):
            yield from _all_layers(layer)


def _activates(layer: Any) -> bool:
    act = getattr(getattr(layer, "activation", None), "__name__", "linear")
    return act != "linear"


def _weight(layer: Any, name: str) -> Any:
    value = getattr(layer, name, None)
    if value is None:
        value = getattr(layer, f"input_{name}", None)
    return np.zeros(0) if value is None else np.asarray(value)


def _input_shape(model: Any) -> tuple:
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
    return tuple(shape[1:])


def _shape_text(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("None" if s is None else str(int(s)) for s in shape) + ")"


def _num(value: Any) -> str:
    arr = np.asarray(value, np.float64).ravel()
    if arr.size == 1:
        return f"{arr[0]:.6g}"
    return "[" + ", ".join(f"{v:.4g}" for v in arr) + "]"


__all__ = [
    "GUESSED",
    "READ",
    "STATED",
    "InferredPreprocessing",
    "infer_preprocessing",
    "infer_scaling",
    "read_scaling",
    "recognise_family",
    "scaling_notice",
]
