"""How far can a map be trusted? Faithfulness metrics of explanations.

Plain functions that take a :class:`~xaixray.Classifier`, images, maps and targets and return
numbers. They batch through the compiled forward pass, are deterministic for a seed and work with
every zoo architecture and foreign ``.keras`` models. Importing this package is light: SciPy,
scikit-image and TensorFlow are imported when a metric runs.

- :mod:`.perturbation`: deletion and insertion curves against random rankings (Petsiuk 2018);
- :mod:`.randomization`: cascading model-parameter randomisation (Adebayo 2018);
- :mod:`.localization`: pointing game, relevance mass and top-area IoU against a known mask;
- :mod:`.imputation`: noisy linear imputation, ROAD's removal (Rong 2022);
- :mod:`.ranking`: which method to trust, from an audit's numbers;
- :mod:`.shortcuts`: attribution in the image border and outside the body;
- :mod:`.summary`: :func:`faithfulness`, what a per-image report shows (deletion, insertion and
  shortcut shares of every map of an :class:`~xaixray.explainers.ExplanationSet`).

>>> from xaixray.metrics import deletion_curve                       # doctest: +SKIP
>>> c = deletion_curve(clf, "chest.jpeg", e.heatmap)                 # doctest: +SKIP
>>> c.auc, c.auc_random, c.better_than_random                         # doctest: +SKIP
"""

from .inputs import SCORES, model_frame
from .localization import (
    find_mask,
    load_mask,
    localization,
    mask_for,
    pointing_game,
    relevance_mass,
    top_area_iou,
)
from .perturbation import (
    REMOVALS,
    Curve,
    deletion_curve,
    insertion_curve,
    perturbation_curves,
    pixel_ranks,
    removed_image,
)
from .randomization import (
    RandomizationResult,
    cascade_layers,
    randomization_check,
    randomized_classifiers,
)
from .ranking import rank_methods, recommendation
from .shortcuts import (
    body_mask,
    border_band,
    border_share,
    outside_body_share,
    shortcut_shares,
    shortcut_warnings,
)
from .summary import faithfulness, verdict

__all__ = [
    "REMOVALS",
    "SCORES",
    "Curve",
    "RandomizationResult",
    "body_mask",
    "border_band",
    "border_share",
    "cascade_layers",
    "deletion_curve",
    "faithfulness",
    "find_mask",
    "insertion_curve",
    "load_mask",
    "localization",
    "mask_for",
    "model_frame",
    "outside_body_share",
    "perturbation_curves",
    "rank_methods",
    "recommendation",
    "pixel_ranks",
    "pointing_game",
    "randomization_check",
    "randomized_classifiers",
    "relevance_mass",
    "removed_image",
    "shortcut_shares",
    "shortcut_warnings",
    "top_area_iou",
    "verdict",
]
