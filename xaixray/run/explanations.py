"""Many inputs -> explanations, in memory: :func:`explain`.

:func:`~xaixray.run.folder.explain_paths` (what ``xaixray explain`` does) explains image files
and writes one report folder per image, going on past files that cannot be read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..classifier import Classifier
from ..explainers import (
    DEFAULT_METHODS,
    ExplanationSet,
    PreparedImage,
    Target,
    check_methods,
    expand_targets,
    explain_images,
    make_explainers,
    resolve_target,
)
from ..imaging import ImageLike, as_image_list, describe, load_image
from ..metrics.summary import faithfulness_many
from .folder import CHUNK, DEFAULT_OUT, FAITHFULNESS, ExplainRun, explain_paths

__all__ = ["CHUNK", "DEFAULT_OUT", "FAITHFULNESS", "ExplainRun", "explain", "explain_paths"]


def explain(classifier: Classifier, images: ImageLike | Iterable[ImageLike],
            methods: Sequence[str] | str = DEFAULT_METHODS,
            targets: Target | Sequence[Target] = None, seed: int = 0,
            params: Mapping[str, Mapping[str, Any]] | None = None,
            faithfulness: bool = FAITHFULNESS, **options: Any) -> list[ExplanationSet]:
    """Explain images with several methods in one call, in memory.

    Parameters
    ----------
    classifier
        A :class:`~xaixray.Classifier`.
    images
        One image (path, PIL image, array) or a list of them.
    methods
        Names from :data:`~xaixray.explainers.METHODS` (default Grad-CAM, LIME and SHAP).
    targets
        Class to explain (index or name; one for all images or one per image); ``None`` explains
        each image's predicted class.
    seed
        Seed for the sampling methods (same seed, same result).
    params
        Per-method parameters, e.g. ``{"shap": {"masker": "inpaint_telea"}}``.
    faithfulness
        Also measure how faithful each map is (deletion and insertion against random, border
        and outside-body shares: :func:`xaixray.metrics.faithfulness`) into each result's
        ``faithfulness``.
    options
        Shared method keywords (``num_samples``, ``max_evals``, ``layer``, ``batch_size``, ...),
        each passed to every selected method that accepts it.

    Returns
    -------
    list of ExplanationSet
        One per image. A method that cannot run (Grad-CAM on a model without convolutions) is
        recorded in ``errors`` and the others still run. Draw one with
        :func:`xaixray.plot_explanations`, write it with :func:`xaixray.write_report`.

    Raises
    ------
    ImageError
        If an image cannot be read (:func:`explain_paths` goes on past bad files).

    Examples
    --------
    >>> sets = explain(clf, ["a.jpeg", "b.jpeg"], num_samples=500)      # doctest: +SKIP
    >>> sets[0].explanations["gradcam"].heatmap.shape                    # doctest: +SKIP
    """
    order = check_methods(methods)
    explainers, errors = make_explainers(classifier, order, seed, params, **options)
    items = as_image_list(images)
    per_image = expand_targets(targets, len(items))
    for t in per_image:  # fail early on a bad class name
        if t is not None:
            resolve_target(classifier, t)
    results = []
    for start in range(0, len(items), CHUNK):
        block = items[start:start + CHUNK]
        images = PreparedImage.load_many(classifier, [load_image(i) for i in block],
                                         [describe(i) for i in block])
        found = explain_images(classifier, images, explainers, errors,
                               per_image[start:start + CHUNK], order)
        if faithfulness:
            for result, faith in zip(found, faithfulness_many(classifier, found, seed=seed)):
                result.faithfulness = faith
        results.extend(found)
    return results
