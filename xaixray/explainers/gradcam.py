"""Grad-CAM and Grad-CAM++: class-discriminative maps from the last convolutional feature map.

Works with any nesting of Keras models (``Sequential([ResNet50, GAP, ...])``, functional models
that call a nested base, Conv -> Reshape -> LSTM hybrids): the target layer's ``call`` is wrapped
for the duration of one eager forward pass to capture its output, and the class score is
differentiated with respect to it under ``tf.GradientTape``.

The user's model is never changed. Each explainer builds, on first use, a private clone of the
model's structure (``keras.models.clone_model``) whose head outputs logits, and runs it on the
user's *current* weights with ``stateless_call`` (no copy, so training the model afterwards is
seen). The capture wrapping happens on the clone, under a per-explainer lock, so explainers can be
called from several threads while other threads predict with the same model.

References: Selvaraju et al., "Grad-CAM", ICCV 2017; Chattopadhay et al., "Grad-CAM++", WACV 2018.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..classifier import Classifier, final_layer
from ..errors import ExplainerError, one_line
from ..imaging import resize_map
from .base import Explainer, normalise_nonnegative

CONV_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")


class GradCAM(Explainer):
    """Grad-CAM: channel weights = spatial mean of the gradient of the class logit.

    Parameters
    ----------
    classifier
        The classifier to explain. It needs a convolutional layer.
    layer
        Name of the layer whose output is the feature map (searched in nested models too).
        By default the last convolution, followed through layers that keep its spatial size
        (its BatchNorm/activation/residual add), e.g. ``conv5_block3_out`` in ResNet50.
    seed
        Recorded only; Grad-CAM is deterministic.

    Raises
    ------
    ExplainerError
        If the model has no convolutional layer or ``layer`` is not found.
    """

    name = "gradcam"
    title = "Grad-CAM"
    signed = False
    uses_seed = False
    batched = True

    def __init__(self, classifier: Classifier, *, layer: str | None = None, seed: int = 0) -> None:
        self.target_layer = find_target_layer(classifier.model, layer)
        super().__init__(classifier, seed=seed, layer=self.target_layer.name)
        self._lock = threading.Lock()
        self._private: _LogitModel | None = None

    def with_classifier(self, classifier: Classifier) -> GradCAM:
        """A copy that explains ``classifier`` at the layer of the same name."""
        new = super().with_classifier(classifier)
        new.target_layer = find_target_layer(classifier.model, self.params["layer"])
        return new

    def _attribute(self, prepared: np.ndarray, target: int) -> tuple[np.ndarray, dict]:
        return self._attribute_many(prepared[None], [target])[0]

    def _attribute_many(self, prepared: np.ndarray,
                        targets: Sequence[int]) -> list[tuple[np.ndarray, dict]]:
        # one forward and backward pass for the batch: in inference mode each image's score
        # depends on that image only, so the gradient of their sum is each one's own gradient
        fmaps, grads = self._map_and_gradients(prepared, targets)
        out = []
        for fmap, grad in zip(fmaps, grads):
            cam = np.maximum((fmap * self._channel_weights(fmap, grad)).sum(axis=-1), 0.0)
            cam, flat = normalise_nonnegative(cam)
            extras = {"layer": self.target_layer.name, "feature_shape": list(fmap.shape),
                      "flat": flat}
            out.append((resize_map(cam, prepared.shape[1:3]).clip(0.0, 1.0), extras))
        return out

    def _channel_weights(self, fmap: np.ndarray, grads: np.ndarray) -> np.ndarray:
        """The weights of the feature map ``(h', w', k)``, from it and its gradients.

        One weight per channel ``(k,)`` (Grad-CAM, Grad-CAM++), or one per element
        ``(h', w', k)`` (HiResCAM, Layer-CAM): the map is ``sum_k weights * fmap``.
        """
        return grads.mean(axis=(0, 1))

    def _map_and_gradients(self, prepared: np.ndarray,
                           targets: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The target layer's outputs and d(class score)/d(output), float64 ``(n, h', w', k)``.

        ``prepared`` is a model-frame batch ``(n, h, w, c)``, ``targets`` one class per image.
        """
        return self._maps_and_gradients(prepared, targets, [self.target_layer])[0]

    def _maps_and_gradients(self, prepared: np.ndarray, targets: Sequence[int],
                            layers: Sequence[Any], gradients: bool = True,
                            ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """:meth:`_map_and_gradients` for several layers of one forward (and backward) pass.

        With ``gradients=False`` only the forward pass runs and the gradients are ``None``.
        """
        import tensorflow as tf

        clf = self.classifier
        x = tf.convert_to_tensor(prepared, tf.float32)
        with self._lock:
            if self._private is None or self._private.source is not clf.model:
                self._private = _LogitModel(clf, self.target_layer)
            private = self._private
            with tf.GradientTape() as tape, contextlib.ExitStack() as stack:
                captured = [stack.enter_context(_capture_output(private.clone_of[id(la)], tape))
                            for la in layers]
                tape.watch(x)
                out = private(clf.preprocessing.to_model_input(x))
                score = tf.reduce_sum(_class_score(clf, out, targets, private.has_logits))
        for layer, outputs in zip(layers, captured):
            if not outputs:
                raise ExplainerError(f"layer {layer.name!r} was not called when the "
                                     "model ran; pass another layer=")
        fmaps = [outputs[-1] for outputs in captured]
        grads = tape.gradient(score, fmaps) if gradients else [None] * len(fmaps)
        for layer, grad in zip(layers, grads):
            if gradients and grad is None:
                raise ExplainerError(f"the class score does not depend on layer "
                                     f"{layer.name!r}; pass another layer=")
        return [(np.asarray(f, np.float64), None if g is None else np.asarray(g, np.float64))
                for f, g in zip(fmaps, grads)]


class GradCAMPlusPlus(GradCAM):
    """Grad-CAM++: pixel-weighted positive gradients (better for several lesions).

    Same parameters as :class:`GradCAM`.
    """

    name = "gradcam++"
    title = "Grad-CAM++"

    def _channel_weights(self, fmap: np.ndarray, grads: np.ndarray) -> np.ndarray:
        g2 = grads ** 2
        denom = 2.0 * g2 + fmap.sum(axis=(0, 1)) * g2 * grads
        alpha = np.where((grads != 0) & (denom != 0), g2 / np.where(denom != 0, denom, 1.0), 0.0)
        return (alpha * np.maximum(grads, 0.0)).sum(axis=(0, 1))


# ---------------------------------------------------------------------- layer search
def iter_layers(model: Any) -> Iterator[Any]:
    """Every layer in call order, depth first through nested models (not the models)."""
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            yield from iter_layers(layer)
        else:
            yield layer


def _output_shape(layer: Any) -> tuple | None:
    try:
        return tuple(layer.output.shape)
    except (AttributeError, ValueError, RuntimeError, TypeError):
        return None


def find_target_layer(model: Any, name: str | None = None) -> Any:
    """The layer whose output Grad-CAM uses.

    With ``name``: that layer, anywhere in the (nested) model. Otherwise the last convolution
    (``Conv2D``, ``SeparableConv2D``, ``DepthwiseConv2D``), followed through the layers right after
    it that keep a rank-4 output of the same spatial size (BatchNorm, activation, residual add), so
    the map is taken after its activation: ``conv5_block3_out`` for ResNet50, ``conv_pw_13_relu``
    for MobileNet, ``relu3`` for the grayscale CNN-LSTM.
    """
    layers = list(iter_layers(model))
    model_name = getattr(model, "name", "model")
    if name is not None:
        for layer in layers:
            if layer.name == name:
                shape = _output_shape(layer)
                if shape is not None and len(shape) != 4:
                    raise ExplainerError(f"layer {name!r} gives outputs of shape {shape}; "
                                         "Grad-CAM needs a (batch, h, w, channels) feature map")
                return layer
        maps = [la.name for la in layers if len(_output_shape(la) or ()) == 4]
        hint = f"; layers with feature maps: {', '.join(maps[-8:])}" if maps else ""
        raise ExplainerError(f"model {model_name!r} has no layer named {name!r}{hint}")
    convs = [i for i, la in enumerate(layers) if type(la).__name__ in CONV_LAYER_TYPES]
    if not convs:
        raise ExplainerError(f"Grad-CAM needs a convolutional layer; model {model_name!r} has "
                             "none (LIME and SHAP still work)")
    best = convs[-1]
    shape = _output_shape(layers[best])
    if shape is None or len(shape) != 4:
        return layers[best]
    for i in range(best + 1, len(layers)):
        s = _output_shape(layers[i])
        if s is None or len(s) != 4 or s[1:3] != shape[1:3]:
            break
        best = i
    return layers[best]


# ---------------------------------------------------------------------- forward-pass plumbing
@contextlib.contextmanager
def _capture_output(layer: Any, tape: Any) -> Iterator[list]:
    """Record (and watch) the outputs of ``layer`` while the context is open."""
    captured: list = []
    had_own = "call" in vars(layer)
    previous = vars(layer).get("call")
    original = layer.call

    def call(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        tape.watch(out)
        captured.append(out)
        return out

    object.__setattr__(layer, "call", call)
    try:
        yield captured
    finally:
        if had_own:
            object.__setattr__(layer, "call", previous)
        else:
            object.__delattr__(layer, "call")


class _LogitModel:
    """A private clone of a classifier's model that outputs logits, run on the original weights.

    ``keras.models.clone_model`` copies the structure (nested models included) with fresh
    variables; the clone's final sigmoid/softmax is made linear, and every call passes the
    original model's current variables through ``stateless_call``, so the clone never holds
    weights of its own that could go stale. The original model is only read.
    """

    def __init__(self, classifier: Classifier, target_layer: Any,
                 method: str = "Grad-CAM") -> None:
        import keras

        model = classifier.model
        self.source = model
        try:
            self.model = keras.models.clone_model(model)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; report one line
            raise ExplainerError(f"{method} cannot copy model {getattr(model, 'name', 'model')!r}"
                                 f" to run it side-effect free ({one_line(exc)})") from None
        originals, clones = list(iter_layers(model)), list(iter_layers(self.model))
        # (a clone renames an unnamed keras.Input, so input layers match by type alone)
        same = len(originals) == len(clones) and all(
            type(a) is type(b) and (a.name == b.name or type(a).__name__ == "InputLayer")
            for a, b in zip(originals, clones))
        # variables in structural order (layer by layer), whatever is trainable now or later
        ours, theirs = list(self.model.variables), list(model.variables)
        if not same or len(ours) != len(theirs) or any(
                tuple(a.shape) != tuple(b.shape) for a, b in zip(ours, theirs)):
            raise ExplainerError(f"{method}: the copy of model {getattr(model, 'name', 'model')!r}"
                                 " does not match it layer for layer")
        self._original_of = {id(a): b for a, b in zip(ours, theirs)}
        self.clone_of = {id(o): c for o, c in zip(originals, clones)}
        self.target_layer = self.clone_of[id(target_layer)]
        self.has_logits = classifier.from_logits
        head = final_layer(self.model)
        if not self.has_logits and getattr(getattr(head, "activation", None), "__name__",
                                           None) in ("sigmoid", "softmax"):
            object.__setattr__(head, "activation", keras.activations.linear)
            self.has_logits = True

    def __call__(self, inputs: Any) -> Any:
        original = self._original_of
        out = self.model.stateless_call(
            [original[id(v)].value for v in self.model.trainable_variables],
            [original[id(v)].value for v in self.model.non_trainable_variables],
            inputs, training=False)[0]
        return out[0] if isinstance(out, (list, tuple)) else out


def _class_score(classifier: Classifier, out: Any, targets: Sequence[int],
                 has_logits: bool) -> Any:
    """Pre-activation score of each image's target ``(n,)``: its logit (negated for class 0
    of a sigmoid head).

    Without access to logits, the log-odds of the target's probability.
    """
    import tensorflow as tf

    t = tf.cast(targets, tf.int32)  # a list, or a tensor inside a tf.function
    if has_logits:
        if classifier.output_kind == "sigmoid":
            return tf.where(t == 1, out[:, 0], -out[:, 0])
        return tf.gather(out, t, axis=1, batch_dims=1)
    p = tf.gather(classifier.probabilities_from_output(out), t, axis=1, batch_dims=1)
    p = tf.clip_by_value(p, 1e-7, 1 - 1e-7)
    return tf.math.log(p) - tf.math.log(1.0 - p)
