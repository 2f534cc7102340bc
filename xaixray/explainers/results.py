"""What explaining produces, as plain data: :class:`Explanation` and :class:`ExplanationSet`.

Nothing here draws or writes: figures are made by :mod:`xaixray.plots` and files by
:mod:`xaixray.reports`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import display
from .compare import compare, summarize_heatmap

Target = int | str | None
"""A class index, a class name, or ``None`` for the predicted class."""


@dataclass
class Explanation:
    """One explanation of one image by one method.

    Attributes
    ----------
    method
        Registry name of the method (``"gradcam"``, ``"gradcam++"``, ``"lime"``, ``"shap"``).
    target, target_name
        The explained class (index and name).
    score
        The model's probability of ``target`` for this image.
    heatmap
        ``float32`` ``(H, W)`` in the *original* image's frame. Signed (evidence for > 0, against
        < 0) when :attr:`signed`, else non-negative and scaled to [0, 1] (Grad-CAM).
    signed
        Whether :attr:`heatmap` has a sign.
    params
        The method's parameters, as used (resolved defaults included).
    extras
        Method-specific results: Grad-CAM ``layer``, ``feature_shape``, ``flat``; LIME
        ``segments`` (original frame) and ``weights`` ``{segment: weight}``, ``r2``; SHAP
        ``values`` (model frame, per channel) and ``base_value``.
    seed
        The random seed used (``None`` for deterministic methods that use none).
    seconds
        Wall-clock time of the method on this image.
    image
        The original ``uint8`` image, for plotting.
    source
        A short description of the input (its path, or ``array(shape)``).
    probabilities
        The model's class probabilities for this image.
    """

    method: str
    target: int
    target_name: str
    score: float
    heatmap: np.ndarray
    signed: bool
    params: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    seed: int | None = None
    seconds: float = 0.0
    image: np.ndarray | None = field(default=None, repr=False)
    source: str = ""
    probabilities: np.ndarray | None = None

    def summary(self) -> dict:
        """Peak location and value and the area holding half the positive attribution."""
        return summarize_heatmap(self.heatmap)

    def _repr_html_(self) -> str | None:
        """The map over the X-ray and its numbers, in a notebook (:mod:`xaixray.display`)."""
        return display.html(self)

    def _repr_png_(self) -> bytes | None:
        """The map over the X-ray as PNG, in a notebook."""
        return display.png(self)


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
        The classifier's :meth:`~xaixray.Classifier.metadata` (name, preprocessing, class names,
        threshold, output kind, info).
    explanations
        ``{method: Explanation}`` for the methods that ran.
    errors
        ``{method: one-line message}`` for the methods that could not run.
    seconds
        Wall-clock time of all methods (and the prediction) on this image.
    methods
        The methods asked for, in order (figure panels and report rows follow it).
    faithfulness
        How faithful each map is (:func:`xaixray.metrics.faithfulness`), when it was measured,
        else ``None``.
    box
        The part of the image the model sees, ``(top, bottom, left, right)`` in pixels, when its
        preprocessing crops (``crop="lungs"``); ``None`` for the whole image. The maps are 0
        outside it.
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
    faithfulness: dict | None = None
    box: tuple[int, int, int, int] | None = None

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

    def agreement(self) -> list[dict]:
        """Pairwise agreement (Spearman, top-20% overlap) between the methods' heatmaps."""
        return compare({m: e.heatmap for m, e in self.explanations.items()})

    def _repr_html_(self) -> str | None:
        """In a notebook: the side-by-side figure, the prediction and threshold, the agreement
        table and the faithfulness verdicts (:mod:`xaixray.display`); no file is written."""
        return display.html(self)
