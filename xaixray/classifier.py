"""`Classifier`: a Keras 3 model plus everything needed to feed it and read its output.

Every other part of xaixray (training, evaluation, explainers, reports, the CLI) talks to models
only through this class. It knows about one model: loading, saving, predicting and metadata.
Building zoo models (:func:`xaixray.models.build`), training (:func:`xaixray.training.train`) and
evaluation (:func:`xaixray.evaluation.evaluate`) are functions of the layers above it.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .bundled import default_model_path
from .errors import ModelError, one_line
from .files import atomic_path, to_json
from .imaging import ImageLike, as_image_list
from .labels import CLASS_NAMES
from .preprocessing import Preprocessing, infer_from_input_shape

if TYPE_CHECKING:  # pragma: no cover
    import keras

METADATA_NAME = "xaixray.json"
FORMAT_VERSION = 1
DEFAULT_MODEL = "default"
_CHUNK = 64
LOGIT_EPS = 1e-7


class Classifier:
    """A chest X-ray classifier: Keras model + preprocessing + class names + threshold.

    Parameters
    ----------
    model
        A built Keras 3 model whose output is one sigmoid unit (probability of
        ``class_names[1]``) or a softmax over ``len(class_names)`` classes.
    preprocessing
        What the model expects as input (see :class:`~xaixray.preprocessing.Preprocessing`).
    class_names
        Class names in output order; the default is ``("NORMAL", "PNEUMONIA")``.
    threshold
        Decision threshold on the probability of ``class_names[1]`` (binary models).
    name
        A short name shown in figures and reports (architecture or file name).
    info
        Free-form metadata saved with the model (training data, metrics, ...).

    Examples
    --------
    >>> clf = Classifier.load("model.keras")                          # doctest: +SKIP
    >>> clf.predict_proba(["a.jpeg", "b.png"])                        # doctest: +SKIP
    """

    def __init__(
        self,
        model: keras.Model,
        preprocessing: Preprocessing,
        class_names: Sequence[str] = CLASS_NAMES,
        threshold: float = 0.5,
        name: str = "model",
        info: dict | None = None,
    ) -> None:
        self.model = model
        self.preprocessing = preprocessing
        self.class_names = tuple(str(c) for c in class_names)
        self.threshold = float(threshold)
        self.name = name
        self.info = dict(info or {})
        self.output_kind, self.from_logits = _output_kind(model, len(self.class_names))
        if not 0.0 < self.threshold < 1.0:
            raise ModelError(f"threshold must be in (0, 1), got {threshold}")
        self._forward: Callable | None = None
        self._log_odds: Callable | None = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_keras(
        cls,
        model: keras.Model,
        *,
        input_size: tuple[int, int] | None = None,
        channels: int | None = None,
        scaling: str | None = None,
        layout: str | None = None,
        equalize: str | None = None,
        class_names: Sequence[str] | None = None,
        threshold: float | None = None,
        name: str | None = None,
    ) -> Classifier:
        """Wrap a Keras model written without xaixray.

        Input size, channels and layout are inferred from the model's input shape and the output
        kind (one sigmoid unit or a softmax) from its output; scaling defaults to ``"unit"``
        ([0, 1], as in the seed documents) and equalize to ``"none"``. Every keyword overrides
        what was inferred.
        """
        shape = _input_shape(model)
        pre = infer_from_input_shape(shape).replace(
            input_size=input_size, channels=channels, scaling=scaling, layout=layout,
            equalize=equalize,
        )
        _check_matches(pre, shape)
        n_out = _output_units(model)
        names = tuple(class_names) if class_names else (CLASS_NAMES if n_out <= 2 else
                                                        tuple(f"class_{i}" for i in range(n_out)))
        return cls(model, pre, names, threshold if threshold is not None else 0.5,
                   name or getattr(model, "name", "model"))

    @classmethod
    def load(cls, path: str | os.PathLike = DEFAULT_MODEL, **overrides: Any) -> Classifier:
        """Load a ``.keras`` file (written by xaixray or by plain Keras) or ``"default"``.

        Files written by xaixray carry their preprocessing, class names and threshold; for other
        files these are inferred as in :meth:`from_keras`. ``overrides`` (``input_size``,
        ``channels``, ``scaling``, ``layout``, ``equalize``, ``class_names``, ``threshold``,
        ``name``) win over
        both. Keras safe mode stays on: files with Python lambdas are refused.
        """
        import keras

        path = _resolve_model_path(path)
        meta = read_metadata(path)
        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; report one line
            raise ModelError(f"{path}: cannot load as a Keras model ({one_line(exc)})") from None
        if meta is None:
            return cls.from_keras(model, **{"name": Path(path).stem, **_drop_none(overrides)})
        pre = Preprocessing.from_dict(meta["preprocessing"]).replace(
            **{k: overrides.get(k)
               for k in ("input_size", "channels", "scaling", "layout", "equalize")}
        )
        _check_matches(pre, _input_shape(model))
        return cls(
            model,
            pre,
            overrides.get("class_names") or meta.get("class_names", CLASS_NAMES),
            overrides.get("threshold") or meta.get("threshold", 0.5),
            overrides.get("name") or meta.get("name", Path(path).stem),
            meta.get("info", {}),
        )

    # ------------------------------------------------------------------ prediction
    def predict_proba(self, images: ImageLike | Iterable[ImageLike],
                      batch_size: int = _CHUNK) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)``, for file paths, PIL images or arrays.

        A single image (path, PIL image or 2-D/3-D array) gives ``n = 1``.
        """
        images = as_image_list(images)
        out = [self.predict_proba_prepared(self.preprocessing.prepare(images[i:i + batch_size]))
               for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.class_names)), np.float32)

    def predict(self, images: ImageLike | Iterable[ImageLike]) -> np.ndarray:
        """Predicted class names (array of ``str``), using :attr:`threshold` for binary models."""
        return np.asarray(self.class_names)[self.decide(self.predict_proba(images))]

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Class indices from probabilities: threshold on class 1 when binary, else argmax."""
        proba = np.asarray(proba)
        if proba.shape[1] == 2:
            return (proba[:, 1] >= self.threshold).astype(int)
        return proba.argmax(axis=1)

    def predict_proba_prepared(self, batch: np.ndarray, batch_size: int = _CHUNK) -> np.ndarray:
        """Probabilities for images already in the model frame.

        Parameters
        ----------
        batch
            ``float32`` array ``(n, h, w, c)`` in [0, 1] — the output of
            ``classifier.preprocessing.prepare`` — or ``(h, w, c)`` for one image. This is the
            fast path explainers use: one compiled forward pass per chunk, no ``model.predict``.
        """
        batch = np.asarray(batch, np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        if batch.shape[1:] != self.preprocessing.image_shape:
            raise ModelError(f"expected images of shape {self.preprocessing.image_shape}, "
                             f"got {batch.shape[1:]}")
        fwd = self._compiled_forward()
        parts = [np.asarray(fwd(batch[i:i + batch_size]))
                 for i in range(0, len(batch), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.class_names)), np.float32)

    def probabilities_from_output(self, output: Any) -> Any:
        """Turn raw model output (tensor) into ``(n, n_classes)`` probabilities (Keras ops)."""
        from keras import ops

        if self.output_kind == "sigmoid":
            p = ops.sigmoid(output[:, 0]) if self.from_logits else output[:, 0]
            return ops.stack([1.0 - p, p], axis=1)
        return ops.softmax(output, axis=-1) if self.from_logits else output

    def predict_log_odds_prepared(self, batch: np.ndarray,
                                  batch_size: int = _CHUNK) -> np.ndarray:
        """Log-odds ``log(p / (1 - p))`` of every class, ``(n, n_classes)`` float64.

        Computed from the model's logits, so they keep their resolution where probabilities
        saturate (a float32 probability is exactly 1.0 from a logit of about 17): a sigmoid head
        gives ``-z, z``; a softmax head ``z_k - logsumexp(z_j, j != k)``. A final sigmoid or
        softmax is read as linear while the forward pass is compiled (the model itself is left
        as it is). For a model whose head cannot be read that way the log-odds come from the
        probabilities, clipped to ``[1e-7, 1 - 1e-7]``.

        Parameters
        ----------
        batch
            As for :meth:`predict_proba_prepared`.
        """
        batch = np.asarray(batch, np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        if batch.shape[1:] != self.preprocessing.image_shape:
            raise ModelError(f"expected images of shape {self.preprocessing.image_shape}, "
                             f"got {batch.shape[1:]}")
        fwd = self._compiled_log_odds()
        parts = [np.asarray(fwd(batch[i:i + batch_size]), np.float64)
                 for i in range(0, len(batch), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.class_names)))

    def log_odds_from_output(self, output: Any, has_logits: bool) -> Any:
        """``(n, n_classes)`` log-odds from raw model output (Keras ops).

        ``has_logits``: whether ``output`` is logits (see :func:`logit_head`).
        """
        from keras import ops

        if has_logits:
            if self.output_kind == "sigmoid":
                z = output[:, :1]
                return ops.concatenate([-z, z], axis=1)
            n = len(self.class_names)
            others = output[:, None, :] + ops.where(ops.eye(n) > 0, -1e30, 0.0)[None]
            return output - ops.logsumexp(others, axis=-1)
        p = ops.clip(self.probabilities_from_output(output), LOGIT_EPS, 1.0 - LOGIT_EPS)
        return ops.log(p) - ops.log1p(-p)

    def _compiled_log_odds(self) -> Callable:
        if self._log_odds is None:
            import tensorflow as tf

            spec = tf.TensorSpec((None, *self.preprocessing.image_shape), tf.float32)
            model, pre = self.model, self.preprocessing

            @tf.function(input_signature=[spec], reduce_retracing=True)
            def log_odds(batch):
                # Python here runs only while tracing: the head is linear in the traced graph
                with logit_head(self) as has_logits:
                    out = model(pre.to_model_input(batch), training=False)
                return self.log_odds_from_output(out, has_logits)

            self._log_odds = log_odds
        return self._log_odds

    def _compiled_forward(self) -> Callable:
        if self._forward is None:
            import tensorflow as tf

            spec = tf.TensorSpec((None, *self.preprocessing.image_shape), tf.float32)
            model, pre = self.model, self.preprocessing

            @tf.function(input_signature=[spec], reduce_retracing=True)
            def forward(batch):
                out = model(pre.to_model_input(batch), training=False)
                return self.probabilities_from_output(out)

            self._forward = forward
        return self._forward

    def reset_forward(self) -> None:
        """Forget the compiled forward pass; call it after changing :attr:`model` or its weights.

        The next prediction compiles a fresh one. Training does this for you.
        """
        self._forward = None
        self._log_odds = None

    # ------------------------------------------------------------------ saving
    def metadata(self) -> dict:
        """Everything besides the Keras model that is saved with it."""
        return {
            "format": "xaixray",
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "preprocessing": self.preprocessing.to_dict(),
            "class_names": list(self.class_names),
            "threshold": self.threshold,
            "output_kind": self.output_kind,
            "info": self.info,
        }

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Save as a ``.keras`` file that also carries xaixray's metadata.

        The file is an ordinary Keras archive with one extra member (``xaixray.json``), so it
        still loads with ``keras.saving.load_model``. It is written to a temporary file first and
        moved into place, so a failed save never leaves a half-written file.
        """
        path = Path(path)
        if path.suffix != ".keras":
            raise ModelError(f"{path}: model files must end in .keras")
        if path.exists() and not overwrite:
            raise ModelError(f"{path}: already exists (pass overwrite=True or --overwrite)")
        with atomic_path(path) as tmp:
            self.model.save(tmp, overwrite=True)
            with zipfile.ZipFile(tmp, "a") as zf:
                zf.writestr(METADATA_NAME, to_json(self.metadata()))
        return path

    def __repr__(self) -> str:
        p = self.preprocessing
        return (f"Classifier(name={self.name!r}, input={p.model_input_shape}, "
                f"scaling={p.scaling!r}, layout={p.layout!r}, output={self.output_kind!r}, "
                f"classes={self.class_names}, "
                f"threshold={self.threshold:g})")


# ---------------------------------------------------------------------- helpers
def read_metadata(path: str | os.PathLike) -> dict | None:
    """xaixray's metadata inside a ``.keras`` file, or ``None`` for a plain Keras file."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            if METADATA_NAME not in zf.namelist():
                return None
            return json.loads(zf.read(METADATA_NAME))
    except zipfile.BadZipFile:
        if path.suffix == ".h5":
            return None
        raise ModelError(f"{path}: not a Keras .keras model file (not a zip archive)") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"{path}: its {METADATA_NAME} is corrupt") from None


def _resolve_model_path(path: str | os.PathLike) -> str:
    if str(path) == DEFAULT_MODEL:
        p = default_model_path()
        if not p.exists():
            raise ModelError("no default model is bundled with this installation of xaixray")
        return str(p)
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: no such model file")
    if p.is_dir():
        raise ModelError(f"{p}: is a folder; expected a .keras model file")
    if p.suffix.lower() in (".pkl", ".pickle", ".joblib", ".sav"):
        raise ModelError(f"{p}: pickled models are refused (unsafe to load); save the model "
                         "with model.save('model.keras') and load that")
    if p.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise ModelError(f"{p}: expected a .keras model file")
    return str(p)


def _input_shape(model: Any) -> tuple:
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
    return tuple(shape[1:])


def _output_units(model: Any) -> int:
    shape = model.outputs[0].shape if getattr(model, "outputs", None) else model.output_shape
    if len(shape) != 2:
        raise ModelError(f"model output shape {tuple(shape)} is not (batch, classes)")
    return int(shape[-1])


def final_layer(model: Any) -> Any:
    """The layer that produces the model's output, looking inside nested models."""
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    while layer is not None and getattr(layer, "layers", None):
        layer = layer.layers[-1]
    return layer


@contextlib.contextmanager
def logit_head(classifier: Classifier) -> Iterator[bool]:
    """Make the model output logits for the duration (swap a final sigmoid/softmax to linear).

    Yields whether the output is now logits.
    """
    if classifier.from_logits:
        yield True
        return
    layer = final_layer(classifier.model)
    activation = getattr(layer, "activation", None)
    if getattr(activation, "__name__", None) not in ("sigmoid", "softmax"):
        yield False
        return
    import keras

    object.__setattr__(layer, "activation", keras.activations.linear)
    try:
        yield True
    finally:
        object.__setattr__(layer, "activation", activation)


def _last_activation(model: Any) -> str | None:
    act = getattr(final_layer(model), "activation", None)
    return getattr(act, "__name__", None) if act is not None else None


def _output_kind(model: Any, n_classes: int) -> tuple[str, bool]:
    units = _output_units(model)
    act = _last_activation(model)
    logits = act == "linear"
    if units == 1:
        if n_classes != 2:
            raise ModelError("a model with one output unit needs exactly two class names")
        return "sigmoid", logits
    if units != n_classes:
        raise ModelError(f"model has {units} outputs but {n_classes} class names were given")
    return "softmax", logits


def _check_matches(pre: Preprocessing, shape: tuple) -> None:
    expected = tuple(pre.model_input_shape)
    if len(shape) != len(expected) or any(s is not None and s != e
                                          for s, e in zip(shape, expected)):
        raise ModelError(f"preprocessing gives inputs of shape {expected} but the model expects "
                         f"{shape}; pass input_size/channels/layout that match")


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


__all__ = ["Classifier", "final_layer", "logit_head", "read_metadata"]
