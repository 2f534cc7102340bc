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
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import display
from .bundled import default_model_path
from .errors import ModelError, one_line
from .files import atomic_path, to_json
from .imaging import ImageLike, as_image_list
from .labels import CLASS_NAMES, positive_index
from .prediction_sets import prediction_sets
from .preprocessing import FIELDS as PREPROCESSING_FIELDS
from .preprocessing import Preprocessing
from .preprocessing_inference import GUESSED, READ, STATED, infer_preprocessing

if TYPE_CHECKING:  # pragma: no cover
    import keras

METADATA_NAME = "xaixray.json"
FORMAT_VERSION = 1
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
"""Suffixes of the model files xaixray loads, in any case: the Keras archive and legacy HDF5."""
LEGACY_SUFFIXES = (".h5", ".hdf5")
"""Legacy HDF5 model files: loaded (without xaixray metadata), never written."""
MIN_KERAS = (3, 14)
"""Oldest Keras whose model loading has the published safe-mode and archive fixes (up to
CVE-2025-9905 and the 3.14.0 path-traversal fix); also the floor in ``pyproject.toml``."""
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
        Decision threshold on the probability of the positive class (binary models).
    name
        A short name shown in figures and reports (architecture or file name).
    info
        Free-form metadata saved with the model (training data, metrics, ...).
    positive_class
        The finding, by name (or index): what sensitivity, the threshold and ROC curves are
        about. Default: ``"PNEUMONIA"`` when it is one of ``class_names``, else the last class.
        With more than two classes the prediction is the most probable class unless a positive
        class is named: then it is that class when its probability reaches ``threshold``
        (one-vs-rest), else the most probable of the others (:attr:`one_vs_rest`).
    temperature
        Temperature scaling of the output (Guo et al. 2017): probabilities become
        ``softmax(log(p) / temperature)``, i.e. the binary log-odds divided by it. 1 leaves the
        model as it is; :func:`xaixray.calibrate` fits it on a labelled local set.
    provenance
        How each preprocessing field was found: ``{field: "read" | "guessed" | "stated"}``
        (see :mod:`xaixray.preprocessing_inference`); fields left out were ``"stated"``.
    reasons
        ``{field: one sentence}`` saying where a field was read or why it is a guess.

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
        positive_class: str | int | None = None,
        temperature: float = 1.0,
        provenance: dict[str, str] | None = None,
        reasons: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.preprocessing = preprocessing
        self.class_names = tuple(str(c) for c in class_names)
        if len(set(self.class_names)) != len(self.class_names):
            raise ModelError(f"class names must differ, got {', '.join(self.class_names)}")
        self.threshold = float(threshold)
        self.name = name
        self.info = dict(info or {})
        self.output_kind, self.from_logits = _output_kind(model, len(self.class_names))
        if not 0.0 < self.threshold < 1.0:
            raise ModelError(f"threshold must be in (0, 1), got {threshold}")
        try:
            self.positive_index = positive_index(self.class_names, positive_class)
        except ValueError as exc:
            raise ModelError(str(exc)) from None
        self.one_vs_rest = len(self.class_names) > 2 and positive_class is not None
        self.temperature = float(temperature)
        if not 0.0 < self.temperature < float("inf"):
            raise ModelError(f"temperature must be positive, got {temperature}")
        self.provenance = {f: STATED for f in PREPROCESSING_FIELDS} | dict(provenance or {})
        self.reasons = dict(reasons or {})
        self.source: dict[str, Any] = {}
        """Where the model came from: ``path`` and ``safe_mode`` when it was loaded from a file."""
        self._forward: Callable | None = None
        self._log_odds: Callable | None = None
        self._masked: dict[tuple[str, bool], Callable] = {}

    @property
    def positive_class(self) -> str:
        """The name of the positive class (the finding); its index is :attr:`positive_index`."""
        return self.class_names[self.positive_index]

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
        crop: str | None = None,
        class_names: Sequence[str] | None = None,
        threshold: float | None = None,
        name: str | None = None,
        positive_class: str | int | None = None,
    ) -> Classifier:
        """Wrap a Keras model written without xaixray.

        Input size, channels and layout are inferred from the model's input shape and the output
        kind (one sigmoid unit or a softmax) from its output; scaling is read from the model's
        first layers (``Rescaling``, ``Normalization``, the preprocessing of ``keras.applications``
        models) or guessed (:func:`~xaixray.preprocessing_inference.infer_preprocessing`; the
        guess is marked in :attr:`provenance`), equalize and crop default to ``"none"``; class
        names to
        ``("NORMAL", "PNEUMONIA")`` for two outputs (one sigmoid unit is the probability of the
        second name). Every keyword overrides what was inferred: a model whose first output is
        PNEUMONIA needs ``class_names=("PNEUMONIA", "NORMAL")``.
        """
        shape = _input_shape(model)
        inferred = infer_preprocessing(model)
        stated = _drop_none({"input_size": input_size, "channels": channels, "scaling": scaling,
                             "layout": layout, "equalize": equalize, "crop": crop})
        pre = inferred.preprocessing.replace(**stated)
        _check_matches(pre, shape)
        provenance = inferred.provenance | {k: STATED for k in stated}
        reasons = inferred.reasons | {k: "stated by the user" for k in stated}
        n_out = _output_units(model)
        names = tuple(class_names) if class_names else (CLASS_NAMES if n_out <= 2 else
                                                        tuple(f"class_{i}" for i in range(n_out)))
        return cls(model, pre, names, threshold if threshold is not None else 0.5,
                   name or getattr(model, "name", "model"), positive_class=positive_class,
                   provenance=provenance, reasons=reasons)

    @classmethod
    def load(cls, path: str | os.PathLike = DEFAULT_MODEL, *, unsafe: bool = False,
             **overrides: Any) -> Classifier:
        """Load a ``.keras`` file (written by xaixray or by plain Keras), a legacy ``.h5`` file
        or ``"default"``.

        Files written by xaixray carry their preprocessing, class names and threshold; for other
        files these are inferred as in :meth:`from_keras`. ``overrides`` (``input_size``,
        ``channels``, ``scaling``, ``layout``, ``equalize``, ``crop``, ``class_names``,
        ``positive_class``, ``threshold``, ``name``) win over both.

        Keras safe mode is on: a file holding Python code that would run on loading (a
        ``Lambda`` layer, for example) is refused. ``unsafe=True`` turns safe mode off, only for
        files you trust. Keras older than :data:`MIN_KERAS` is refused, since its safe mode can
        be bypassed.
        """
        import keras

        check_keras_version(keras.__version__)
        path = _resolve_model_path(path)
        meta = read_metadata(path)
        if meta is not None:
            _check_readable(path, meta)
        try:
            with _keras_spelling(path) as spelled:
                model = keras.saving.load_model(spelled, compile=False, safe_mode=not unsafe)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; report one line
            if not unsafe and "safe_mode" in str(exc):
                raise ModelError(
                    f"{path}: refused by Keras safe mode: the file holds Python code (such as a "
                    "Lambda layer) that would run on loading; only for files you trust, load it "
                    "with --unsafe (Classifier.load(..., unsafe=True))") from None
            raise ModelError(f"{path}: cannot load as a Keras model ({one_line(exc)})") from None
        if meta is None:
            clf = cls.from_keras(model, **{"name": Path(path).stem, **_drop_none(overrides)})
        else:
            clf = cls._from_metadata(model, meta, path, overrides)
        clf.source = {"path": path, "safe_mode": not unsafe}
        return clf

    @classmethod
    def _from_metadata(cls, model: Any, meta: dict, path: str, overrides: dict) -> Classifier:
        pre = Preprocessing.from_dict(meta["preprocessing"]).replace(
            **{k: overrides.get(k)
               for k in PREPROCESSING_FIELDS}
        )
        _check_matches(pre, _input_shape(model))
        names = tuple(overrides.get("class_names") or meta.get("class_names", CLASS_NAMES))
        saved = meta.get("positive_class")
        provenance, reasons = _saved_provenance(meta, overrides)
        return cls(
            model,
            pre,
            names,
            overrides.get("threshold") or meta.get("threshold", 0.5),
            overrides.get("name") or meta.get("name", Path(path).stem),
            meta.get("info", {}),
            positive_class=overrides["positive_class"]
            if overrides.get("positive_class") is not None
            else (saved if saved in names else None),
            temperature=meta.get("temperature", 1.0),
            provenance=provenance,
            reasons=reasons,
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

    def predict_sets(self, images: ImageLike | Iterable[ImageLike]) -> list[tuple[str, ...]]:
        """Conformal prediction sets (``info["conformal"]``, from ``xaixray calibrate
        --conformal``); see :func:`xaixray.prediction_sets.prediction_sets`."""
        return prediction_sets(self.predict_proba(images), self.info.get("conformal"),
                               self.class_names)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Class indices from probabilities: for two classes, the positive class when its
        probability reaches :attr:`threshold`, else the other; argmax for more classes, unless
        :attr:`one_vs_rest` (the positive class when it reaches the threshold, else the most
        probable of the others)."""
        proba = np.asarray(proba, np.float64)  # a float32 score and the threshold, exactly
        pos = self.positive_index
        if proba.shape[1] == 2:
            return np.where(proba[:, pos] >= self.threshold, pos, 1 - pos).astype(int)
        if self.one_vs_rest:
            others = np.where(np.arange(proba.shape[1]) == pos, -np.inf, proba).argmax(axis=1)
            return np.where(proba[:, pos] >= self.threshold, pos, others).astype(int)
        return proba.argmax(axis=1)

    def decision_rule(self) -> str:
        """How :meth:`decide` calls a class, in words."""
        pos = self.positive_class
        if len(self.class_names) == 2 or self.one_vs_rest:
            rest = " (one-vs-rest; else the most probable other class)" if self.one_vs_rest \
                else ""
            return f"{pos} when P({pos}) >= {self.threshold:g}{rest}"
        return "the most probable class (arg-max)"

    def predict_proba_prepared(self, batch: np.ndarray, batch_size: int = _CHUNK) -> np.ndarray:
        """Probabilities for images already in the model frame.

        Parameters
        ----------
        batch
            ``float32`` array ``(n, h, w, c)`` in [0, 1] — the output of
            ``classifier.preprocessing.prepare`` — or ``(h, w, c)`` for one image. This is the
            fast path explainers use: one compiled forward pass per chunk, no ``model.predict``.
        """
        return self._run_in_chunks(self._compiled_forward(), batch, batch_size, np.float32)

    def probabilities_from_output(self, output: Any) -> Any:
        """Turn raw model output (tensor) into ``(n, n_classes)`` probabilities (Keras ops)."""
        from keras import ops

        if self.output_kind == "sigmoid":
            p = ops.sigmoid(output[:, 0]) if self.from_logits else output[:, 0]
            proba = ops.stack([1.0 - p, p], axis=1)
        else:
            proba = ops.softmax(output, axis=-1) if self.from_logits else output
        if self.temperature == 1.0:
            return proba
        return ops.softmax(ops.log(ops.clip(proba, LOGIT_EPS, 1.0)) / self.temperature, axis=-1)

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
        return self._run_in_chunks(self._compiled_log_odds(), batch, batch_size, np.float64)

    def log_odds_from_output(self, output: Any, has_logits: bool) -> Any:
        """``(n, n_classes)`` log-odds from raw model output (Keras ops).

        ``has_logits``: whether ``output`` is logits (see :func:`logit_head`).
        """
        from keras import ops

        if has_logits:  # temperature scaling divides the logits
            z = output / self.temperature
            if self.output_kind == "sigmoid":
                z = z[:, :1]
                return ops.concatenate([-z, z], axis=1)
            n = len(self.class_names)
            others = z[:, None, :] + ops.where(ops.eye(n) > 0, -1e30, 0.0)[None]
            return z - ops.logsumexp(others, axis=-1)
        p = ops.clip(self.probabilities_from_output(output), LOGIT_EPS, 1.0 - LOGIT_EPS)
        return ops.log(p) - ops.log1p(-p)

    def predict_masked_prepared(self, image: np.ndarray, fill: np.ndarray, keep: np.ndarray,
                                output: str = "probability",
                                batch_size: int = _CHUNK) -> np.ndarray:
        """Outputs for copies of one model-frame image, each with some pixels replaced.

        Copy ``i`` is ``image`` where ``keep[i]`` is true and ``fill`` elsewhere. The copies are
        made inside the compiled forward pass, so only the masks travel to it: this is how
        LIME and SHAP score their thousand perturbed images.

        Parameters
        ----------
        image, fill
            ``float32`` ``(h, w, c)`` in [0, 1], in the model frame.
        keep
            Boolean ``(n, h, w)``, or ``(n, h, w, 1)`` / ``(n, h, w, c)`` per channel. Float
            masks in [0, 1] are soft: copy ``i`` is ``fill + keep[i] * (image - fill)`` (RISE,
            Score-CAM).
        output
            ``"probability"`` (as :meth:`predict_proba_prepared`) or ``"logit"`` (as
            :meth:`predict_log_odds_prepared`).
        batch_size
            Copies per forward pass.

        Returns
        -------
        numpy.ndarray
            ``(n, n_classes)``: float32 probabilities or float64 log-odds.
        """
        if output not in ("probability", "logit"):
            raise ModelError(f"output must be 'probability' or 'logit', got {output!r}")
        shape = self.preprocessing.image_shape
        image, fill = (np.asarray(a, np.float32) for a in (image, fill))
        soft = np.issubdtype(np.asarray(keep).dtype, np.floating)
        keep = np.asarray(keep, np.float32 if soft else bool)
        keep = keep[..., None] if keep.ndim == 3 else keep
        if image.shape != shape or fill.shape != shape or keep.shape[1:3] != shape[:2] \
                or keep.shape[3] not in (1, shape[2]):
            raise ModelError(f"expected an image and fill of shape {shape} and masks of shape "
                             f"(n, {shape[0]}, {shape[1]}), got {image.shape}, {fill.shape} "
                             f"and {keep.shape}")
        fn = self._compiled_masked(output, soft)
        dtype = np.float32 if output == "probability" else np.float64
        parts = [np.asarray(fn(keep[i:i + batch_size], image, fill), dtype)
                 for i in range(0, len(keep), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.class_names)), dtype)

    def _log_odds_body(self, batch: Any) -> Any:
        # Python here runs only while tracing: the head is linear in the traced graph
        with logit_head(self) as has_logits:
            out = self.model(self.preprocessing.to_model_input(batch), training=False)
        return self.log_odds_from_output(out, has_logits)

    def _forward_body(self, batch: Any) -> Any:
        return self.probabilities_from_output(
            self.model(self.preprocessing.to_model_input(batch), training=False))

    def _compiled_log_odds(self) -> Callable:
        if self._log_odds is None:
            self._log_odds = self._compile(self._log_odds_body)
        return self._log_odds

    def _compiled_forward(self) -> Callable:
        if self._forward is None:
            self._forward = self._compile(self._forward_body)
        return self._forward

    def _compiled_masked(self, output: str, soft: bool = False) -> Callable:
        if (output, soft) not in self._masked:
            import tensorflow as tf

            body = self._forward_body if output == "probability" else self._log_odds_body
            h, w, c = self.preprocessing.image_shape

            def masked(keep: Any, image: Any, fill: Any) -> Any:
                batch = (fill[None] + keep * (image - fill)[None] if soft
                         else tf.where(keep, image[None], fill[None]))
                return body(tf.ensure_shape(batch, (None, h, w, c)))

            keep_spec = tf.TensorSpec((None, h, w, None), tf.float32 if soft else tf.bool)
            frame = tf.TensorSpec((h, w, c), tf.float32)
            self._masked[output, soft] = tf.function(masked, reduce_retracing=True,
                                                     input_signature=[keep_spec, frame, frame])
        return self._masked[output, soft]

    def _run_in_chunks(self, compiled: Callable, batch: np.ndarray, batch_size: int,
                       dtype: type) -> np.ndarray:
        """``compiled`` over a model-frame batch (or one image), ``batch_size`` at a time."""
        batch = np.asarray(batch, np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        if batch.shape[1:] != self.preprocessing.image_shape:
            raise ModelError(f"expected images of shape {self.preprocessing.image_shape}, "
                             f"got {batch.shape[1:]}")
        parts = [np.asarray(compiled(batch[i:i + batch_size]), dtype)
                 for i in range(0, len(batch), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.class_names)), dtype)

    def _compile(self, body: Callable[[Any], Any]) -> Callable:
        """``body`` as a ``tf.function`` over model-frame batches of any size (traced once)."""
        import tensorflow as tf

        spec = tf.TensorSpec((None, *self.preprocessing.image_shape), tf.float32)
        return tf.function(body, input_signature=[spec], reduce_retracing=True)

    def reset_forward(self) -> None:
        """Forget the compiled forward pass; call it after changing :attr:`model` or its weights.

        The next prediction compiles a fresh one. Training does this for you.
        """
        self._forward = None
        self._log_odds = None
        self._masked.clear()

    def describe(self) -> dict:
        """What xaixray will do with this model: each input field marked read, guessed or
        stated, the output kind, classes, decision rule, and the Keras version and safe mode of
        its file (see :func:`xaixray.model_description.describe`; ``xaixray inspect`` adds the
        Grad-CAM layer and the methods that can run)."""
        from .model_description import describe

        return describe(self)

    # ------------------------------------------------------------------ saving
    def metadata(self) -> dict:
        """Everything besides the Keras model that is saved with it."""
        return {
            "format": "xaixray",
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "preprocessing": self.preprocessing.to_dict(),
            "class_names": list(self.class_names),
            # more than two classes: null unless one was named (then decided one-vs-rest)
            "positive_class": self.positive_class
            if len(self.class_names) == 2 or self.one_vs_rest else None,
            "threshold": self.threshold,
            "output_kind": self.output_kind,
            "temperature": self.temperature,
            "provenance": dict(self.provenance),
            "provenance_reasons": dict(self.reasons),
            "info": self.info,
        }

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Save as a ``.keras`` file that also carries xaixray's metadata.

        The file is an ordinary Keras archive with one extra member (``xaixray.json``), so it
        still loads with ``keras.saving.load_model``. It is written to a temporary file first and
        moved into place, so a failed save never leaves a half-written file.
        """
        path = Path(path)
        if path.suffix.lower() != ".keras":
            raise ModelError(f"{path}: model files must end in .keras (legacy "
                             f"{'/'.join(LEGACY_SUFFIXES)} files are read, not written)")
        if path.exists() and not overwrite:
            raise ModelError(f"{path}: already exists (pass overwrite=True or --overwrite)")
        with atomic_path(path, suffix=".keras") as tmp:
            self.model.save(tmp, overwrite=True)
            with zipfile.ZipFile(tmp, "a") as zf:
                zf.writestr(METADATA_NAME, to_json(self.metadata()))
        return path

    def __repr__(self) -> str:
        p = self.preprocessing
        return (f"Classifier(name={self.name!r}, input={p.model_input_shape}, "
                f"scaling={p.scaling!r}, layout={p.layout!r}, output={self.output_kind!r}, "
                f"classes={self.class_names}, positive={self.positive_class!r}, "
                f"threshold={self.threshold:g}"
                + (f", temperature={self.temperature:g})" if self.temperature != 1.0 else ")"))

    def _repr_html_(self) -> str | None:
        """In a notebook: name, input, classes and threshold; after :func:`xaixray.calibrate`,
        the calibration and its confusion matrix (:mod:`xaixray.display`)."""
        return display.html(self)


# ---------------------------------------------------------------------- helpers
def check_keras_version(version: str) -> None:
    """Refuse a Keras older than :data:`MIN_KERAS`: its safe mode does not protect model files.

    Raises
    ------
    ModelError
        One line naming the installed version and the one needed.
    """
    numbers = [int(n) for n in re.findall(r"\d+", str(version))[:2]]
    if len(numbers) < 2 or tuple(numbers) < MIN_KERAS:
        need = ".".join(map(str, MIN_KERAS))
        raise ModelError(f"Keras {version} cannot load model files safely (its safe mode can be "
                         f"bypassed); xaixray needs keras>={need}: pip install -U 'keras>={need}'")


def read_metadata(path: str | os.PathLike) -> dict | None:
    """xaixray's metadata inside a ``.keras`` file, or ``None`` for a plain Keras file."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            if METADATA_NAME not in zf.namelist():
                return None
            return json.loads(zf.read(METADATA_NAME))
    except zipfile.BadZipFile:
        if path.suffix.lower() in LEGACY_SUFFIXES:
            return None
        raise ModelError(f"{path}: not a Keras .keras model file (not a zip archive)") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"{path}: its {METADATA_NAME} is corrupt") from None


def _check_readable(path: str | os.PathLike, meta: dict) -> None:
    """Refuse metadata this version would misread: a newer format, or preprocessing steps it
    does not know (which it would silently skip, feeding the model the wrong input). An unknown
    step that is switched off (``None``, ``"none"``, ``False``) changes nothing and is allowed."""
    version = meta.get("format_version", 1)
    steps = meta.get("preprocessing") or {}
    unknown = sorted(k for k in set(steps) - set(PREPROCESSING_FIELDS)
                     if steps[k] not in (None, "none", False))
    if not isinstance(version, int) or version > FORMAT_VERSION or unknown:
        what = (f"preprocessing steps unknown here ({', '.join(unknown)})" if unknown
                else f"format version {version!r}; this one reads up to {FORMAT_VERSION}")
        raise ModelError(f"{path}: written by a newer xaixray ({what}); upgrade xaixray to "
                         "load it")


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
    if p.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelError(f"{p}: expected a .keras model file (or a legacy "
                         f"{'/'.join(LEGACY_SUFFIXES)} file)")
    return str(p)


@contextmanager
def _keras_spelling(path: str) -> Iterator[str]:
    """``path``, or a link to it whose suffix is in lower case: Keras reads ``.keras``,
    ``.h5`` and ``.hdf5`` only as spelled so (``.KERAS`` is "not supported")."""
    suffix = Path(path).suffix
    if suffix == suffix.lower():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="xaixray-") as folder:
        alias = os.path.join(folder, "model" + suffix.lower())
        try:
            os.symlink(os.path.abspath(path), alias)
        except OSError:  # no symbolic links here (some Windows set-ups): a private copy
            shutil.copyfile(path, alias)
        yield alias


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


def _saved_provenance(meta: dict, overrides: dict) -> tuple[dict[str, str], dict[str, str]]:
    """Provenance of a file xaixray wrote: a saved guess stays a guess, the rest was read."""
    saved = meta.get("provenance") or {}
    saved_reasons = meta.get("provenance_reasons") or {}
    provenance, reasons = {}, {}
    for f in PREPROCESSING_FIELDS:
        if overrides.get(f) is not None:
            provenance[f], reasons[f] = STATED, "stated by the user"
        elif saved.get(f) == GUESSED:
            provenance[f], reasons[f] = GUESSED, saved_reasons.get(f, "guessed when first read")
        else:
            provenance[f], reasons[f] = READ, "saved in the file by xaixray"
    return provenance, reasons


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


__all__ = [
    "MIN_KERAS",
    "MODEL_SUFFIXES",
    "Classifier",
    "check_keras_version",
    "final_layer",
    "logit_head",
    "read_metadata",
]
