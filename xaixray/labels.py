"""Class names and the positive class: what every layer agrees a label means."""

from __future__ import annotations

from collections.abc import Sequence

CLASS_NAMES: tuple[str, ...] = ("NORMAL", "PNEUMONIA")
"""The classes of the seed models, in output order."""

SUBTYPE_CLASS_NAMES: tuple[str, ...] = ("NORMAL", "BACTERIA", "VIRAL")
"""The three-class task: normal, bacterial and viral pneumonia (the Kaggle file names say
which: ``person*_bacteria_*``, ``person*_virus_*``)."""

POSITIVE_CLASS = "PNEUMONIA"
"""The finding: sensitivity, thresholds and ROC curves are about this class."""


def positive_index(class_names: Sequence[str], positive: str | int | None = None) -> int:
    """Where the positive class is in ``class_names`` (a model's output order).

    Parameters
    ----------
    class_names
        Class names in output order.
    positive
        A class name or index; ``None`` for :data:`POSITIVE_CLASS` when it is one of
        ``class_names``, else the last class.

    Raises
    ------
    ValueError
        If ``positive`` is not one of ``class_names``.
    """
    names = [str(c) for c in class_names]
    if positive is None:
        return names.index(POSITIVE_CLASS) if POSITIVE_CLASS in names else len(names) - 1
    if isinstance(positive, int) and not isinstance(positive, bool):
        if not 0 <= positive < len(names):
            raise ValueError(f"positive class index {positive} is out of range for the classes "
                             f"{', '.join(names)}")
        return positive
    if str(positive) not in names:
        raise ValueError(f"positive class {positive!r} is not one of the classes "
                         f"{', '.join(names)}")
    return names.index(str(positive))


__all__ = ["CLASS_NAMES", "POSITIVE_CLASS", "SUBTYPE_CLASS_NAMES", "positive_index"]
