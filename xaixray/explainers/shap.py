"""SHAP (Owen values with a hierarchical image partition), through the ``shap`` package.

Model-agnostic: ``shap.Explainer(f, shap.maskers.Image(...))`` selects the Partition explainer,
which hides nested rectangles of the image by blurring (or inpainting) them and credits the change
in the model's probability to the pixels hidden. It needs only forward passes, so it works for
every model in the zoo, LSTM ones included. (``shap.DeepExplainer`` is never used: it rewrites
TensorFlow's gradient registry for the whole process.)

Reference: Lundberg and Lee, "A unified approach to interpreting model predictions", NeurIPS 2017.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Iterator
from types import ModuleType

import numpy as np

from ..classifier import Classifier
from ..errors import ExplainerError
from .base import DEFAULT_OUTPUT, Explainer, check_output, class_outputs, is_gray

_MASKERS = re.compile(r"^(blur|blur\(\d+,\s*\d+\)|inpaint_telea|inpaint_ns)$")
_GLOBAL_RNG = threading.Lock()  # one SHAP run at a time owns NumPy's global generator


class SHAP(Explainer):
    """Partition SHAP on pixels with a blur (or inpainting) masker.

    Parameters
    ----------
    classifier
        The classifier to explain (any architecture).
    max_evals
        Model evaluations per image; more gives finer rectangles. 2000: the fewest for which
        the map ranks pixels like a 4000-evaluation map (median rank correlation 0.96) and its
        top 10% of pixels mostly agree (median overlap 0.74); at 1000 they do not (0.87, 0.64;
        ``benchmarks/sample_counts.py``, docs/speed.md).
    batch_size
        Masked images per forward pass.
    masker
        ``"blur"`` (a box blur of half the image side: hidden regions become their local average),
        ``"blur(k,k)"``, ``"inpaint_telea"`` or ``"inpaint_ns"``.
    output
        What is explained: the target's ``"probability"``, or its ``"logit"`` (log-odds,
        :meth:`~xaixray.Classifier.predict_log_odds_prepared`), which does not shrink towards
        zero when the prediction is saturated.
    seed
        Seeds the run: shap's partition algorithm breaks ties between equally important
        regions with NumPy's global generator, which is seeded for the call and then restored,
        so the same image and seed always give the same explanation.

    Notes
    -----
    The values add up to ``f(image) - f(fully masked image)`` (``extras["base_value"]`` is the
    latter), where ``f`` is the target's probability or log-odds (``output``).
    """

    name = "shap"
    title = "SHAP"
    signed = True

    def __init__(self, classifier: Classifier, *, max_evals: int = 2000, batch_size: int = 64,
                 masker: str = "blur", output: str = DEFAULT_OUTPUT, seed: int = 0) -> None:
        if int(max_evals) < 10:
            raise ExplainerError(f"SHAP needs max_evals >= 10, got {max_evals}")
        if not _MASKERS.match(str(masker)):
            raise ExplainerError(f"unknown SHAP masker {masker!r}; use blur, blur(k,k), "
                                 "inpaint_telea or inpaint_ns")
        super().__init__(classifier, seed=seed, max_evals=int(max_evals),
                         batch_size=int(batch_size), masker=str(masker),
                         output=check_output(output))
        _import_shap()  # once per process, so that per-image timings are the method's own

    def _masker_spec(self, shape: tuple[int, ...]) -> str:
        spec = self.params["masker"]
        if spec == "blur":
            k = max(3, min(shape[:2]) // 2)
            return f"blur({k},{k})"
        return spec

    def _attribute(self, prepared: np.ndarray, target: int) -> tuple[np.ndarray, dict]:
        shap = _import_shap()
        p = self.params
        channels = prepared.shape[-1]
        # gray images are explained on one channel: the partition then splits pixels, not colours
        x = prepared[..., :1] if is_gray(prepared) else prepared
        x = (x * 255.0).astype(np.float32)  # 0-255 so that the inpainting maskers work too
        clf = self.classifier

        spec = self._masker_spec(x.shape)
        if spec.startswith("blur"):
            import cv2

            # the masker hands out its masks; the images are made in the compiled forward pass
            image = np.repeat(x / 255.0, channels // x.shape[-1], axis=-1)
            kernel = tuple(int(k) for k in spec[5:-1].split(","))
            fill = cv2.blur(x, kernel).reshape(x.shape) / 255.0
            fill = np.repeat(fill, channels // x.shape[-1], axis=-1)

            def f(keep: np.ndarray) -> np.ndarray:
                return clf.predict_masked_prepared(image, fill, keep, p["output"],
                                                   p["batch_size"])[:, target]

            masker = _masks_of(shap)(spec, x.shape)
        else:
            def f(batch: np.ndarray) -> np.ndarray:
                batch = np.asarray(batch, np.float32) / 255.0
                if batch.shape[-1] != channels:
                    batch = np.repeat(batch, channels, axis=-1)
                return class_outputs(clf, batch, p["output"], p["batch_size"])[:, target]

            masker = shap.maskers.Image(spec, x.shape)
        explainer = shap.Explainer(f, masker, algorithm="partition", seed=self.seed)
        with _numpy_global_seed(self.seed):  # shap's partition breaks ties with np.random
            result = explainer(x[None], max_evals=p["max_evals"], batch_size=p["batch_size"],
                               silent=True)
        values = np.asarray(result.values, np.float32).reshape(x.shape)
        base = float(np.ravel(result.base_values)[0])
        extras = {"values": values, "base_value": base, "masker": spec,
                  "sum": float(values.sum())}
        return values.sum(axis=-1), extras


@contextlib.contextmanager
def _numpy_global_seed(seed: int | None) -> Iterator[None]:
    """Seed NumPy's global generator for the block, then restore the caller's state.

    A process-wide lock makes SHAP runs in other threads wait, so that one run's seeding or
    restoring never lands in the middle of another's.
    """
    # shap draws from the legacy global generator, so that is the one to seed
    with _GLOBAL_RNG:
        state = np.random.get_state()  # noqa: NPY002
        np.random.seed(0 if seed is None else seed)  # noqa: NPY002
        try:
            yield
        finally:
            np.random.set_state(state)  # noqa: NPY002


@functools.lru_cache(maxsize=1)
def _masks_of(shap: ModuleType) -> type:
    """shap's image masker (the same partition of the image) handing out its masks, not images.

    Its output for a mask is the boolean mask in the image's shape; what the model sees is
    ``where(mask, image, blurred image)``, exactly what ``shap.maskers.Image`` with a blur
    builds, but made inside the compiled forward pass.
    """

    class MaskOnly(shap.maskers.Image):
        def __call__(self, mask: np.ndarray | None, x: np.ndarray) -> tuple[np.ndarray]:
            if mask is None:
                mask = np.zeros(int(np.prod(self.input_shape)), bool)
            return (np.asarray(mask, bool).reshape(1, *self.input_shape),)

    return MaskOnly


@functools.lru_cache(maxsize=1)
def _import_shap() -> ModuleType:
    """Import shap (quietly) and compile its image-partition code once (~5 s of numba JIT)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import shap
    shap.maskers.Image("blur(3,3)", (4, 4, 1))
    return shap
