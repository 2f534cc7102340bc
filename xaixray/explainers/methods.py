"""The methods by name, and running several of them on one image.

:data:`METHODS` maps names to explainer classes; :func:`make_explainers` builds the ones asked
for and :func:`explain_image` runs them on one image into an
:class:`~xaixray.explainers.results.ExplanationSet`. Explaining many inputs, and writing the
results, is :mod:`xaixray.run`'s job.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from ..classifier import Classifier
from ..errors import ExplainerError, XaixrayError, one_line
from ..imaging import ImageLike
from .base import Explainer, PreparedImage, Target
from .cams import HiResCAM, LayerCAM, ScoreCAM
from .gradcam import GradCAM, GradCAMPlusPlus
from .gradients import InputXGradient, IntegratedGradients, Saliency, SmoothGrad
from .lime import LIME
from .perturbation import RISE, Occlusion
from .results import ExplanationSet
from .shap import SHAP

METHODS: dict[str, type[Explainer]] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "lime": LIME,
    "shap": SHAP,
    "saliency": Saliency,
    "input_x_gradient": InputXGradient,
    "integrated_gradients": IntegratedGradients,
    "smoothgrad": SmoothGrad,
    "hirescam": HiResCAM,
    "layercam": LayerCAM,
    "scorecam": ScoreCAM,
    "occlusion": Occlusion,
    "rise": RISE,
}
"""Registry of explanation methods by name."""

DEFAULT_METHODS = ("gradcam", "lime", "shap")


def make_explainers(classifier: Classifier, methods: Sequence[str] = DEFAULT_METHODS,
                    seed: int = 0, params: Mapping[str, Mapping[str, Any]] | None = None,
                    **options: Any) -> tuple[dict[str, Explainer], dict[str, str]]:
    """Build one explainer per method; methods that cannot run on this model give a message.

    Parameters
    ----------
    classifier
        The classifier to explain.
    methods
        Names from :data:`METHODS`.
    seed
        Seed for every method.
    params
        Per-method parameters, e.g. ``{"lime": {"num_samples": 500}}``.
    options
        Shared keywords, each passed to every selected method that accepts it
        (``num_samples`` goes to LIME, ``max_evals`` to SHAP, ``layer`` to the CAMs,
        ``batch_size`` to every method that batches, ``steps`` and ``baseline`` to Integrated
        Gradients and SmoothGrad, ``samples`` and ``noise`` to SmoothGrad).

    Returns
    -------
    (explainers, errors)
        ``{method: Explainer}`` and ``{method: message}``.
    """
    methods = check_methods(methods)
    params = dict(params or {})
    unknown = [k for k in params if k not in METHODS]
    if unknown:
        raise ExplainerError(f"params for unknown methods: {', '.join(unknown)}")
    accepted = {m: _keywords(cls) for m, cls in METHODS.items()}
    stray = [k for k in options if not any(k in accepted[m] for m in METHODS)]
    if stray:
        raise TypeError(f"no explanation method takes {', '.join(map(repr, stray))}")
    explainers: dict[str, Explainer] = {}
    errors: dict[str, str] = {}
    for m in methods:
        kwargs = {k: v for k, v in options.items() if k in accepted[m]}
        kwargs.update(params.get(m, {}))
        kwargs.setdefault("seed", seed)
        try:
            explainers[m] = METHODS[m](classifier, **kwargs)
        except XaixrayError as exc:
            errors[m] = str(exc)
    return explainers, errors


def explain_image(classifier: Classifier, image: ImageLike | PreparedImage,
                  explainers: Mapping[str, Explainer], errors: Mapping[str, str] | None = None,
                  target: Target = None, order: Sequence[str] | None = None) -> ExplanationSet:
    """Run ready-made explainers on one image (see :func:`make_explainers`).

    A method that fails on this image is recorded in ``errors`` and the others still run.

    ``errors`` are messages of methods that could not be built; ``order`` the methods' order in
    figures and reports (default: explainers, then errors).
    """
    prepared = image if isinstance(image, PreparedImage) else PreparedImage.load(classifier, image)
    return explain_images(classifier, [prepared], explainers, errors, [target], order)[0]


def explain_images(classifier: Classifier, images: Sequence[PreparedImage],
                   explainers: Mapping[str, Explainer], errors: Mapping[str, str] | None = None,
                   targets: Sequence[Target] | None = None,
                   order: Sequence[str] | None = None) -> list[ExplanationSet]:
    """:func:`explain_image` for several prepared images, sharing work where a method can.

    Grad-CAM explains the whole batch in one forward and backward pass; LIME and SHAP go image
    by image. A method that fails on the batch is retried image by image, so that a failure is
    recorded for the images it concerns only. ``targets``: one per image (default: each
    image's predicted class).
    """
    targets = list(targets) if targets is not None else [None] * len(images)
    methods = list(order or dict.fromkeys([*explainers, *(errors or {})]))
    results = [ExplanationSet(
        source=im.source, image=im.original, probabilities=im.probabilities,
        prediction=im.predicted, class_names=tuple(classifier.class_names),
        model=classifier.metadata(), errors=dict(errors or {}), methods=list(methods),
        box=im.box)
        for im in images]
    for m, explainer in explainers.items():
        done = None  # LIME and SHAP: one image at a time anyway, so that a failure costs one
        if explainer.batched:
            try:
                done = explainer.explain_prepared_many(images, targets)
            except Exception:  # noqa: BLE001 - find out which image fails, below
                done = None
        for i, result in enumerate(results):
            try:
                e = done[i] if done is not None else explainer.explain_prepared(images[i],
                                                                                targets[i])
                result.explanations[m] = e
            except XaixrayError as exc:
                result.errors[m] = str(exc)
            except Exception as exc:  # noqa: BLE001 - one method failing must not stop the others
                result.errors[m] = f"{type(exc).__name__}: {one_line(exc)}"
    for result in results:
        result.seconds = sum(e.seconds for e in result.explanations.values())
    return results


def check_methods(methods: str | Sequence[str]) -> list[str]:
    """Validate method names (a list or a comma-separated string); keeps order, drops repeats."""
    if isinstance(methods, str):
        methods = methods.split(",")
    out: list[str] = []
    for m in methods:
        key = str(m).strip().lower()
        if not key:
            continue
        if key == "gradcampp":
            key = "gradcam++"
        if key not in METHODS:
            raise ExplainerError(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
        if key not in out:
            out.append(key)
    if not out:
        raise ExplainerError(f"no method given; choose from {', '.join(METHODS)}")
    return out


def _keywords(cls: type) -> set[str]:
    sig = inspect.signature(cls.__init__)
    return {n for n, p in sig.parameters.items() if p.kind == p.KEYWORD_ONLY}
