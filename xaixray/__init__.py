"""xaixray: explainable pneumonia detection on chest X-rays.

``import xaixray`` is light: names and subpackages are imported on first use, and TensorFlow only
when a model is built, loaded or run.

>>> import xaixray
>>> clf = xaixray.Classifier.load("default")                        # doctest: +SKIP
>>> [result] = xaixray.explain(clf, xaixray.sample_images()[:1])     # doctest: +SKIP
>>> xaixray.write_report(result, "report/")                          # doctest: +SKIP

Layers, bottom to top (each uses only those below it; see ``docs/architecture.md``): errors,
files, labels -> imaging -> preprocessing -> classifier -> models -> data -> evaluation ->
training -> explainers -> metrics -> plots -> reports -> run -> serve -> cli.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import display as _display
from .version import __version__

# public name -> the module that defines it
_EXPORTS = {
    "XaixrayError": "errors",
    "ImageError": "errors",
    "ModelError": "errors",
    "DataError": "errors",
    "ExplainerError": "errors",
    "CLASS_NAMES": "labels",
    "POSITIVE_CLASS": "labels",
    "sample_images": "bundled",
    "load_image": "imaging",
    "Preprocessing": "preprocessing",
    "Classifier": "classifier",
    "build": "models",
    "evaluate": "evaluation",
    "calibrate": "evaluation",
    "train": "training",
    "GradCAM": "explainers",
    "GradCAMPlusPlus": "explainers",
    "LIME": "explainers",
    "SHAP": "explainers",
    "Explanation": "explainers",
    "ExplanationSet": "explainers",
    "faithfulness": "metrics",
    "plot_explanations": "plots",
    "write_report": "reports",
    "explain": "run",
    "audit": "run",
    "explain_paths": "run",
    "predict_files": "run",
    "ExplanationCallback": "run.callback",
}

_SUBMODULES = ("bundled", "classifier", "cli", "data", "display", "errors", "evaluation",
               "explainers", "files", "imaging", "labels", "metrics", "models", "plots",
               "preprocessing", "reports", "run", "serve", "training", "version")

__all__ = [
    "audit",
    "CLASS_NAMES",
    "Classifier",
    "DataError",
    "ExplainerError",
    "Explanation",
    "ExplanationCallback",
    "ExplanationSet",
    "GradCAM",
    "GradCAMPlusPlus",
    "ImageError",
    "LIME",
    "ModelError",
    "POSITIVE_CLASS",
    "Preprocessing",
    "SHAP",
    "XaixrayError",
    "__version__",
    "build",
    "calibrate",
    "evaluate",
    "explain",
    "explain_paths",
    "faithfulness",
    "load_image",
    "plot_explanations",
    "predict_files",
    "sample_images",
    "train",
    "write_report",
]


def _register_renderers() -> None:
    """Notebook display of results (:mod:`xaixray.display`): run on the first display."""
    from .reports import notebook  # noqa: F401 - importing it registers the renderers


_display.set_loader(_register_renderers)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'xaixray' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})

