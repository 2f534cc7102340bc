"""Model-parameter randomisation: does the map change when the model is destroyed? (Adebayo 2018)

An explanation of a model must depend on that model. Starting from the output layer, the weights
are re-initialised layer after layer down to the input ("cascading" randomisation), the map is
recomputed with the same method, parameters and seed after each step, and compared with the
original map. A map that still looks the same once every weight is random explains the image
(its edges, its brightness), not the model: the method fails the check.

The comparison uses the Spearman rank correlation of the maps' absolute values (Adebayo et al.'s
"ABS" variant, which also catches a map whose sign flips while its structure stays), the signed
rank correlation, and the structural similarity (SSIM, scikit-image) of the maps scaled to [0, 1].
Maps are compared on the model's input grid. The check passes when the absolute final rank
correlation is below ``threshold`` (0.3).

The user's model is never modified: the weights are randomised in a clone
(``keras.models.clone_model`` + ``set_weights``). Re-initialisation uses each weight's own Keras
initializer (e.g. Glorot-uniform kernels, zero biases, BatchNorm at identity), seeded, so the
result is deterministic for a seed.

Reference: Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim, "Sanity checks for saliency maps",
NeurIPS 2018.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError
from ..explainers import Explainer, PreparedImage, Target, make_explainers, resolve_target
from ..explainers.gradcam import iter_layers
from ..imaging import ImageLike
from .inputs import crop_box_of, map_on_grid

THRESHOLD = 0.3


@dataclass
class RandomizationResult:
    """How one method's map of one image changed as the model was randomised.

    Attributes
    ----------
    method
        The explainer's name.
    target
        The class explained (the same at every step).
    layers
        The layers re-initialised at each step, top first; step ``k`` has randomised the layers
        of steps ``0..k``.
    spearman
        Rank correlation of the absolute maps, original vs. each step.
    spearman_signed
        Rank correlation of the signed maps (the same as ``spearman`` for Grad-CAM).
    ssim
        Structural similarity of the absolute maps scaled to [0, 1].
    threshold
        The check passes when ``|spearman[-1]| < threshold``.
    maps
        The original map then one per step, on the model grid (kept when asked).
    """

    method: str
    target: int
    layers: list[list[str]]
    spearman: list[float]
    spearman_signed: list[float]
    ssim: list[float]
    threshold: float = THRESHOLD
    maps: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def final_spearman(self) -> float:
        """Rank correlation of the absolute maps once every layer is random."""
        return self.spearman[-1]

    @property
    def passed(self) -> bool | None:
        """Whether the map decorrelated (``None`` if it could not be measured)."""
        if not np.isfinite(self.final_spearman):
            return None
        return bool(abs(self.final_spearman) < self.threshold)

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers and lists (JSON-ready; maps left out)."""
        return {"method": self.method, "target": self.target, "layers": self.layers,
                "spearman": self.spearman, "spearman_signed": self.spearman_signed,
                "ssim": self.ssim, "final_spearman": self.final_spearman,
                "threshold": self.threshold, "passed": self.passed}


def cascade_layers(model: Any) -> list[Any]:
    """The layers that have weights, from the output down (nested models are walked into)."""
    return [layer for layer in iter_layers(model) if layer.weights][::-1]


def _initializer_for(layer: Any, variable_name: str) -> Any:
    for attr in (f"{variable_name}_initializer",
                 f"{variable_name.removesuffix('_kernel')}_initializer",
                 "depthwise_initializer" if variable_name == "kernel" else ""):
        init = getattr(layer, attr, None) if attr else None
        if init is not None and callable(init):
            return init
    return None


def reinitialized_weights(layer: Any, seed: int) -> list[np.ndarray]:
    """Fresh values for every weight of ``layer``, drawn from its own (seeded) initializers.

    A weight without a known initializer gets Glorot-uniform values (2-D and more) or zeros
    (ones for BatchNorm's ``gamma`` and ``moving_variance``).
    """
    import keras

    out = []
    for i, (var, value) in enumerate(zip(layer.weights, layer.get_weights())):
        name = str(var.name).rsplit("/", 1)[-1]
        init = _initializer_for(layer, name)
        if init is None:
            if value.ndim >= 2:
                init = keras.initializers.GlorotUniform()
            elif name in ("gamma", "moving_variance"):
                init = keras.initializers.Ones()
            else:
                init = keras.initializers.Zeros()
        config = init.get_config()
        if "seed" in config:
            s = int(np.random.default_rng([int(seed), i]).integers(2**31 - 1))
            init = type(init).from_config({**config, "seed": s})
        fresh = keras.ops.convert_to_numpy(init(value.shape, dtype=str(value.dtype)))
        out.append(np.asarray(fresh, value.dtype).reshape(value.shape))
    return out


def randomized_classifiers(classifier: Classifier, steps: int | None = None,
                           seed: int = 0) -> Iterator[tuple[list[str], Classifier]]:
    """Cascading randomisation: yield ``(layers randomised at this step, classifier)``.

    The classifier wraps one clone of the model whose weights are re-initialised a little more
    at each step, from the output layer down, so each yielded classifier is valid only until the
    next one is asked for. ``classifier`` itself is never changed.

    Parameters
    ----------
    classifier
        The classifier to randomise (any Keras functional or sequential model, nested ones too).
    steps
        Number of steps; the layers with weights are split into ``steps`` groups of about equal
        size. ``None``: one step per layer with weights.
    seed
        Seeds the new weights.
    """
    import keras

    try:
        clone = keras.models.clone_model(classifier.model)
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; report one line
        raise ExplainerError(f"cannot clone model {classifier.name!r} to randomise it "
                             f"({type(exc).__name__}: {exc})") from None
    clone.set_weights(classifier.model.get_weights())
    layers = cascade_layers(clone)
    if not layers:
        raise ExplainerError(f"model {classifier.name!r} has no weights to randomise")
    n_steps = len(layers) if steps is None else max(1, min(int(steps), len(layers)))
    groups = [list(g) for g in np.array_split(np.arange(len(layers)), n_steps)]
    randomized = Classifier(clone, classifier.preprocessing, classifier.class_names,
                            classifier.threshold, f"{classifier.name} (randomised)",
                            classifier.info, positive_class=classifier.positive_class,
                            temperature=classifier.temperature)
    for group in groups:
        for i in group:
            # assigns the clone's variables in place, which its compiled forward pass reads
            layers[i].set_weights(reinitialized_weights(layers[i], seed * 100_003 + i))
        yield [layers[i].name for i in group], randomized


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two maps; 0 when exactly one is constant, NaN when both are."""
    from scipy.stats import spearmanr

    x, y = np.ravel(a), np.ravel(b)
    flat_x, flat_y = bool(np.ptp(x) == 0), bool(np.ptp(y) == 0)
    if flat_x or flat_y:
        return float("nan") if flat_x and flat_y else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(x, y).statistic)


def map_similarity(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """``spearman`` (absolute maps), ``spearman_signed`` and ``ssim`` of two same-shape maps."""
    from skimage.metrics import structural_similarity

    abs_a, abs_b = np.abs(a).astype(np.float64), np.abs(b).astype(np.float64)
    scaled = [m / m.max() if m.max() > 0 else m for m in (abs_a, abs_b)]
    win = min(7, *a.shape)
    win -= 1 - win % 2  # odd, at most 7
    ssim = (float(structural_similarity(*scaled, data_range=1.0, win_size=win)) if win >= 3
            else float("nan"))
    return {"spearman": rank_correlation(abs_a, abs_b),
            "spearman_signed": rank_correlation(a, b), "ssim": ssim}


def randomization_check(classifier: Classifier, image: ImageLike | PreparedImage,
                        explainer: Explainer | str, target: Target = None, *,
                        steps: int | None = None, seed: int = 0,
                        params: Mapping[str, Any] | None = None,
                        threshold: float = THRESHOLD,
                        keep_maps: bool = False) -> RandomizationResult:
    """Cascading model-parameter randomisation check of one method on one image.

    Parameters
    ----------
    classifier
        The trained classifier. It is not modified (a clone is randomised).
    image
        A path, array or PIL image, or a :class:`~xaixray.explainers.PreparedImage`.
    explainer
        An explainer (its class, parameters and seed are reused on the randomised model) or a
        method name from :data:`~xaixray.explainers.METHODS` (built with ``params`` and
        ``seed``).
    target
        The class to explain at every step; ``None`` is the class the trained model predicts.
    steps
        Number of randomisation steps (``None``: one per layer with weights).
    seed
        Seeds the new weights (and the explainer, when given by name).
    params
        The method's parameters, when ``explainer`` is a name.
    threshold
        Pass when the absolute final rank correlation is below this.
    keep_maps
        Keep the maps (model grid) in the result, e.g. to plot them.

    Returns
    -------
    RandomizationResult

    Examples
    --------
    >>> r = randomization_check(clf, "chest.jpeg", "gradcam", steps=4)   # doctest: +SKIP
    >>> r.spearman, r.passed                                             # doctest: +SKIP
    """
    if isinstance(explainer, str):
        made, errors = make_explainers(classifier, [explainer], seed,
                                       {explainer: dict(params or {})})
        if errors:
            raise ExplainerError("; ".join(f"{m}: {msg}" for m, msg in errors.items()))
        explainer = next(iter(made.values()))
    prepared = image if isinstance(image, PreparedImage) else PreparedImage.load(classifier, image)
    t = prepared.predicted if target is None else resolve_target(classifier, target)
    grid = prepared.prepared.shape[:2]
    crop = crop_box_of(classifier, prepared)
    original = map_on_grid(explainer.explain_prepared(prepared, t).heatmap, grid, crop)
    result = RandomizationResult(explainer.name, t, [], [], [], [], float(threshold))
    if keep_maps:
        result.maps.append(original)
    for names, randomized in randomized_classifiers(classifier, steps, seed):
        proba = np.asarray(randomized.predict_proba_prepared(prepared.prepared[None]), np.float64)
        again = PreparedImage(prepared.original, prepared.prepared, proba[0],
                              int(randomized.decide(proba)[0]), prepared.source, prepared.box)
        heat = map_on_grid(explainer.with_classifier(randomized).explain_prepared(again, t).heatmap,
                           grid, crop)
        sim = map_similarity(original, heat)
        result.layers.append(names)
        result.spearman.append(sim["spearman"])
        result.spearman_signed.append(sim["spearman_signed"])
        result.ssim.append(sim["ssim"])
        if keep_maps:
            result.maps.append(heat)
    return result
