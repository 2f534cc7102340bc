"""One call for several methods on several images: :func:`explain` and :class:`ExplanationSet`."""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ExplainerError, XaixrayError
from ..imaging import ImageLike
from .base import Explainer, Explanation, PreparedImage, Target, as_image_list, expand_targets
from .base import resolve_target as _resolve_target
from .gradcam import GradCAM, GradCAMPlusPlus
from .lime import LIME
from .shap import SHAP

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..classifier import Classifier

METHODS: dict[str, type[Explainer]] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "lime": LIME,
    "shap": SHAP,
}
"""Registry of explanation methods by name."""

DEFAULT_METHODS = ("gradcam", "lime", "shap")


@dataclass
class ExplanationSet:
    """Everything explained about one image: the prediction and one explanation per method.

    Attributes
    ----------
    source
        The input's description (path or ``array(shape)``).
    image
        The original ``uint8`` image.
    probabilities
        Class probabilities.
    prediction
        Predicted class index.
    class_names
        The classifier's class names.
    model
        ``{"name", "preprocessing", "class_names", "threshold", "output_kind"}``.
    explanations
        ``{method: Explanation}`` for the methods that ran.
    errors
        ``{method: one-line message}`` for the methods that could not run.
    seconds
        Wall-clock time of all methods (and the prediction) on this image.
    methods
        The methods asked for, in order (figure panels and report rows follow it).
    """

    source: str
    image: np.ndarray = field(repr=False)
    probabilities: np.ndarray
    prediction: int
    class_names: tuple[str, ...]
    model: dict
    explanations: dict[str, Explanation] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    methods: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.methods:
            self.methods = list(dict.fromkeys([*self.explanations, *self.errors]))

    @property
    def prediction_name(self) -> str:
        """Name of the predicted class."""
        return self.class_names[self.prediction]

    @property
    def probability(self) -> float:
        """Probability of the predicted class."""
        return float(self.probabilities[self.prediction])

    @property
    def model_name(self) -> str:
        """The classifier's name."""
        return str(self.model.get("name", "model"))

    def summaries(self) -> dict[str, dict]:
        """:func:`~xaixray.explainers.compare.summarize_heatmap` per method."""
        return {m: e.summary() for m, e in self.explanations.items()}

    def agreement(self) -> list[dict]:
        """Pairwise agreement (Spearman, top-20% overlap) between the methods' heatmaps."""
        from .compare import compare

        return compare({m: e.heatmap for m, e in self.explanations.items()})

    def figure(self, **options: Any) -> Figure:
        """The side-by-side figure (see :func:`xaixray.plots.plot_explanations`)."""
        from ..plots import plot_explanations

        return plot_explanations(self, **options)

    def to_dict(self) -> dict:
        """The JSON report (see :func:`xaixray.reports.report_dict`)."""
        from ..reports import report_dict

        return report_dict(self)

    def save(self, folder: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write ``figure.png``, ``report.json`` and ``report.html`` into ``folder``.

        Returns the path of ``report.html``. See :func:`xaixray.reports.write_report`.
        """
        from ..reports import write_report

        return write_report(self, folder, overwrite=overwrite)


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
        (``num_samples`` goes to LIME, ``max_evals`` to SHAP, ``layer`` to both Grad-CAMs,
        ``batch_size`` to LIME and SHAP).

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


def explain(classifier: Classifier, images: ImageLike | Iterable[ImageLike],
            methods: Sequence[str] = DEFAULT_METHODS, targets: Target | Sequence[Target] = None,
            seed: int = 0, params: Mapping[str, Mapping[str, Any]] | None = None,
            **options: Any) -> list[ExplanationSet]:
    """Explain images with several methods in one call.

    Parameters
    ----------
    classifier
        A :class:`~xaixray.Classifier`.
    images
        One image (path, PIL image, array) or a list of them.
    methods
        Names from :data:`METHODS` (default Grad-CAM, LIME and SHAP).
    targets
        Class to explain (index or name; one for all images or one per image); ``None`` explains
        each image's predicted class.
    seed
        Seed for the sampling methods (same seed, same result).
    params
        Per-method parameters, e.g. ``{"shap": {"masker": "inpaint_telea"}}``.
    options
        Shared method keywords (``num_samples``, ``max_evals``, ``layer``, ``batch_size``, ...).

    Returns
    -------
    list of ExplanationSet
        One per image. A method that cannot run (Grad-CAM on a model without convolutions) is
        recorded in ``errors`` and the others still run.

    Raises
    ------
    ImageError
        If an image cannot be read (use :func:`xaixray.reports.explain_paths` to go on past bad
        files).

    Examples
    --------
    >>> sets = explain(clf, ["a.jpeg", "b.jpeg"], num_samples=500)      # doctest: +SKIP
    >>> sets[0].explanations["gradcam"].heatmap.shape                    # doctest: +SKIP
    """
    explainers, errors = make_explainers(classifier, methods, seed, params, **options)
    items = as_image_list(images)
    per_image = expand_targets(targets, len(items))
    for t in per_image:  # fail early on a bad class name
        if t is not None:
            _resolve_target(classifier, t)
    order = check_methods(methods)
    return [explain_one(classifier, item, explainers, errors, t, order)
            for item, t in zip(items, per_image)]


def explain_one(classifier: Classifier, image: ImageLike | PreparedImage,
                explainers: Mapping[str, Explainer], errors: Mapping[str, str] | None = None,
                target: Target = None, order: Sequence[str] | None = None) -> ExplanationSet:
    """Run ready-made explainers on one image (see :func:`make_explainers`).

    ``errors`` are messages of methods that could not be built; ``order`` the methods' order in
    figures and reports (default: explainers, then errors).
    """
    start = time.perf_counter()
    prepared = image if isinstance(image, PreparedImage) else PreparedImage.load(classifier, image)
    result = ExplanationSet(
        source=prepared.source, image=prepared.original, probabilities=prepared.probabilities,
        prediction=prepared.predicted, class_names=tuple(classifier.class_names),
        model=model_info(classifier), errors=dict(errors or {}),
        methods=list(order or dict.fromkeys([*explainers, *(errors or {})])))
    for m, explainer in explainers.items():
        try:
            result.explanations[m] = explainer.explain_prepared(prepared, target)
        except XaixrayError as exc:
            result.errors[m] = str(exc)
        except Exception as exc:  # noqa: BLE001 - one method failing must not stop the others
            text = str(exc).strip().splitlines()
            result.errors[m] = f"{type(exc).__name__}: {text[0][:300] if text else ''}".rstrip(": ")
    result.seconds = time.perf_counter() - start
    return result


def model_info(classifier: Classifier) -> dict:
    """What a report says about the model."""
    return {
        "name": classifier.name,
        "preprocessing": classifier.preprocessing.to_dict(),
        "class_names": list(classifier.class_names),
        "threshold": classifier.threshold,
        "output_kind": classifier.output_kind,
    }


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
