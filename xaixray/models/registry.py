"""The model zoo's registry: one :class:`Architecture` per name, and :func:`build`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..classifier import Classifier
from ..errors import ModelError, one_line
from ..labels import CLASS_NAMES
from ..preprocessing import Preprocessing


@dataclass(frozen=True)
class Architecture:
    """A named architecture: how to build it, what it eats, how it is trained.

    Attributes
    ----------
    name, seed, summary
        Registry name, the seed document it comes from, and a one-line description.
    module
        Module (inside :mod:`xaixray.models`) with a ``build_model(input_shape, **options)``.
    preprocessing
        Default input size, channels, scaling and layout.
    output
        ``"sigmoid"`` (one unit) or ``"softmax"`` (two units).
    loss, learning_rate
        Training defaults from the seed document (``"focal"`` is Keras'
        ``BinaryFocalCrossentropy`` with gamma=2, alpha=0.5).
    transfer
        Whether ``weights=`` (``"imagenet"``, ``None`` or a local file) applies.
    """

    name: str
    seed: str
    summary: str
    module: str
    preprocessing: Preprocessing
    output: str
    loss: str
    learning_rate: float = 1e-3
    transfer: bool = False

    def builder(self) -> Callable[..., Any]:
        return importlib.import_module(f"xaixray.models.{self.module}").build_model


_ARCHS: dict[str, Architecture] = {}


def register(arch: Architecture) -> Architecture:
    _ARCHS[arch.name] = arch
    return arch


def available() -> list[str]:
    """Names of every architecture in the zoo."""
    return sorted(_ARCHS)


def get(name: str) -> Architecture:
    """The :class:`Architecture` called ``name``."""
    try:
        return _ARCHS[name]
    except KeyError:
        raise ModelError(f"unknown architecture {name!r}; available: {', '.join(available())}") \
            from None


def make_loss(loss: str) -> Any:
    import keras

    if loss == "focal":
        return keras.losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, alpha=0.5, gamma=2.0)
    if loss == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy()
    if loss == "sparse_categorical_crossentropy":
        return keras.losses.SparseCategoricalCrossentropy()
    raise ModelError(f"unknown loss {loss!r}")


def compile_model(model: Any, loss: str, learning_rate: float) -> None:
    """Compile with Adam and the given loss, tracking accuracy."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=make_loss(loss),
                  metrics=["accuracy"])


def build(
    name: str,
    *,
    input_size: tuple[int, int] | None = None,
    channels: int | None = None,
    equalize: str | None = None,
    crop: str | None = None,
    weights: str | None = "imagenet",
    learning_rate: float | None = None,
    loss: str | None = None,
    seed: int | None = None,
    class_names: Sequence[str] | None = None,
    **options: Any,
) -> Classifier:
    """Build and compile a zoo architecture as a :class:`~xaixray.Classifier`.

    Parameters
    ----------
    name
        One of :func:`available`.
    input_size, channels, equalize, crop
        Override the documented input size / channels / contrast equalisation / crop (see
        :data:`xaixray.preprocessing.CROPS`).
    weights
        Transfer models only: ``"imagenet"`` (downloaded by Keras; needs network access),
        ``None`` (random initialisation) or the path of a local weights file.
    learning_rate, loss
        Override the seed's training defaults.
    seed
        Seeds Keras' random generators for a reproducible initialisation.
    class_names
        The classes, in output order (default NORMAL, PNEUMONIA). More than two replace the
        architecture's head by a softmax over them (named ``prediction``), trained with sparse
        categorical cross-entropy; :data:`xaixray.labels.SUBTYPE_CLASS_NAMES` is the
        NORMAL / BACTERIA / VIRAL task.
    options
        Architecture-specific keywords passed to its ``build_model``.
    """
    import keras

    arch = get(name)
    pre = arch.preprocessing.replace(input_size=input_size, channels=channels,
                                     equalize=equalize, crop=crop)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    kwargs = dict(options)
    if arch.transfer:
        kwargs["weights"] = weights
    model = arch.builder()(pre.model_input_shape, **kwargs)
    names = tuple(class_names or CLASS_NAMES)
    if len(names) > 2:
        model = softmax_head(model, len(names))
        loss = loss or "sparse_categorical_crossentropy"
    loss = loss or arch.loss
    lr = learning_rate or arch.learning_rate
    compile_model(model, loss, lr)
    info = {"architecture": name, "seed_document": arch.seed, "loss": loss,
            "learning_rate": lr}
    if arch.transfer:
        info["weights"] = weights if weights is None or weights == "imagenet" else "local file"
    return Classifier(model, pre, names, name=name, info=info)


def softmax_head(model: Any, n_classes: int) -> Any:
    """``model`` with its last layer replaced by a softmax over ``n_classes`` classes."""
    import keras

    head = keras.layers.Dense(n_classes, activation="softmax", name="prediction")
    return keras.Model(model.inputs, head(model.layers[-1].input), name=model.name)


def imagenet_base(constructor: Callable[..., Any], input_shape: tuple, weights: str | None,
                  family: str) -> Any:
    """Call a ``keras.applications`` constructor with a clear error when weights can't be had."""
    if weights not in (None, "imagenet"):
        if not Path(weights).is_file():
            raise ModelError(f"{weights}: weights file not found")
        weights = str(weights)
    try:
        return constructor(include_top=False, weights=weights, input_shape=tuple(input_shape))
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - download and file errors come in many types
        text = one_line(exc)
        if weights == "imagenet":
            raise ModelError(
                f"could not get the ImageNet weights for {family} ({text[:200]}). Keras downloads "
                "them on first use and needs network access; offline, use weights=None "
                "(--weights none) or the path of a local weights file") from None
        raise ModelError(f"cannot build {family} with weights={weights!r}: {text[:200]}") from None
