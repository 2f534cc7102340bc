"""Which method to trust for this model on this data: a ranking of an audit's methods.

The rule, stated once here and in docs/faithfulness.md:

1. **Randomisation is a gate.** A method whose maps survive randomised weights (the mean
   Spearman rank correlation with the trained model's maps is 0.3 or more in absolute value)
   does not depend on what the model learned; it is ranked after every method that passes or
   was not checked.
2. **Then the mean of the shares that measure faithfulness and localisation**, each in [0, 1]:
   the share of images on which deletion beats random, the share on which insertion beats
   random, and, where lesion masks exist, the pointing game. A share of 0.5 is what a map no
   better than a random order scores on average.
3. Ties keep the order the methods were asked in.

A method is **recommended** when it passes (or was not put to) the randomisation check and beats
random on deletion and on insertion for at least half of the images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RANDOMIZATION_LIMIT = 0.3
"""Mean |Spearman| at or above which a map "survives" randomised weights."""
COMPONENTS = (("deletion_better", "deletion"), ("insertion_better", "insertion"),
              ("pointing_game", "pointing game"))


def rank_methods(summaries: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rank an audit's methods by the rule above.

    Parameters
    ----------
    summaries
        ``{method: summary}`` as :meth:`xaixray.run.audit.Audit.summary` gives them (means of
        ``deletion_better``, ``insertion_better``, ``pointing_game``,
        ``randomization_spearman``; ``None`` where not measured).

    Returns
    -------
    list of dict
        Best first: ``method``, ``rank`` (1 = best), ``score`` (the mean share, ``None``
        without numbers), ``components`` ({name: share}), ``randomization`` (``"passes"``,
        ``"fails"`` or ``None``) and ``recommended``.
    """
    rows = []
    for order, (method, s) in enumerate(summaries.items()):
        parts = {key: float(s[key]) for key, _ in COMPONENTS if s.get(key) is not None}
        rho = s.get("randomization_spearman")
        randomization = None if rho is None else (
            "fails" if abs(float(rho)) >= RANDOMIZATION_LIMIT else "passes")
        score = sum(parts.values()) / len(parts) if parts else None
        recommended = (randomization != "fails"
                       and parts.get("deletion_better", 0.0) >= 0.5
                       and parts.get("insertion_better", 0.0) >= 0.5)
        rows.append({"method": method, "score": score, "components": parts,
                     "randomization": randomization, "recommended": recommended,
                     "_key": (randomization == "fails", -(score if score is not None else -1.0),
                              order)})
    rows.sort(key=lambda r: r.pop("_key"))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def recommendation(ranking: list[Mapping[str, Any]]) -> str:
    """One line for a user: which method to trust first, and which fail.

    ``"For this model, trust gradcam first (deletion 0.92, insertion 0.88, pointing game 0.85 of
    images); shap fails the randomisation check."``
    """
    if not ranking:
        return "No method could be audited."
    # the best-ranked method that is recommended (a higher mean share can come from one curve)
    best = next((r for r in ranking if r["recommended"]), ranking[0])
    failing = [r["method"] for r in ranking if r["randomization"] == "fails"]
    weak = [r["method"] for r in ranking
            if not r["recommended"] and r["randomization"] != "fails"]
    tail = []
    if failing:
        tail.append(f"{_names(failing)} {'fails' if len(failing) == 1 else 'fail'} the "
                    "randomisation check")
    if weak and best["recommended"]:
        tail.append(f"{_names(weak)} {'is' if len(weak) == 1 else 'are'} no better than random "
                    "on deletion or insertion for most images")
    if best["recommended"]:
        detail = ", ".join(f"{label} {best['components'][key]:.2f}"
                           for key, label in COMPONENTS if key in best["components"])
        head = f"For this model, trust {best['method']} first ({detail})"
    else:
        head = ("No method beats random on deletion and insertion for most images of this "
                "model: do not read much into any map")
    return head + ("; " + "; ".join(tail) if tail else "") + "."


def _names(methods: list[str]) -> str:
    return methods[0] if len(methods) == 1 else ", ".join(methods[:-1]) + " and " + methods[-1]
