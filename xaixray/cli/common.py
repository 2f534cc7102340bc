"""Small helpers shared by the sub-commands (argument types, file gathering, messages)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from ..classifier import MODEL_SUFFIXES
from ..data.inputs import list_folder, orphan_note
from ..preprocessing_inference import scaling_notice

LIME_SAMPLES = 250
"""``--num-samples`` unless told: LIME's default (a test keeps the two equal)."""
SHAP_EVALS = 2000
"""``--max-evals`` unless told: SHAP's default (a test keeps the two equal)."""


def methods_help(what: str = "comma-separated method names") -> str:
    """``--methods`` help from the registry (``xaixray.explainers`` does not import TensorFlow).

    Names the default methods and every other one, so that ``--help`` says how to get them.
    """
    from ..explainers.methods import DEFAULT_METHODS, METHODS

    others = [m for m in METHODS if m not in DEFAULT_METHODS]
    return (f"{what} (default: {','.join(DEFAULT_METHODS)}); the others: {', '.join(others)}"
            f" (e.g. --methods {','.join([DEFAULT_METHODS[0], *others[1:2], *others[-1:]])}; "
            "docs/explainers.md says what each shows)")


def default_methods() -> str:
    """The default ``--methods``, as a comma-separated string."""
    from ..explainers.methods import DEFAULT_METHODS

    return ",".join(DEFAULT_METHODS)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be at least 1")
    return value


def add_sample_counts(p: argparse.ArgumentParser) -> None:
    """``--num-samples`` (LIME) and ``--max-evals`` (SHAP)."""
    p.add_argument("--num-samples", type=positive_int, default=LIME_SAMPLES, metavar="N",
                   help=f"LIME: perturbed images per explanation (default: {LIME_SAMPLES})")
    p.add_argument("--max-evals", type=positive_int, default=SHAP_EVALS, metavar="N",
                   help=f"SHAP: model evaluations per explanation (default: {SHAP_EVALS})")


def add_shap_masker(p: argparse.ArgumentParser) -> None:
    """``--shap-masker``: how SHAP fills what it hides."""
    p.add_argument("--shap-masker", metavar="MASKER",
                   help="SHAP: blur (default), blur(k,k) or inpaint_telea/inpaint_ns, which "
                        "suits images with large flat regions such as phantoms "
                        "(docs/faithfulness.md)")


def shap_params(args: argparse.Namespace) -> dict | None:
    """``params=`` for the library call from ``--shap-masker`` (``None`` when not given)."""
    masker = getattr(args, "shap_masker", None)
    return None if masker is None else {"shap": {"masker": masker}}


def existing_path(text: str) -> Path:
    """argparse type: a path that exists."""
    p = Path(text)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return p


def model_arg(text: str) -> str:
    """argparse type: a model file path, or ``default`` for the bundled model."""
    if text == "default":
        return text
    p = Path(text)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such model file")
    return text


def input_size(text: str) -> tuple[int, int]:
    """argparse type: ``224`` or ``224x224`` (height x width)."""
    try:
        parts = [int(v) for v in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: expected N or HxW") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 8:
        raise argparse.ArgumentTypeError(f"{text}: expected N or HxW, at least 8")
    return parts[0], parts[1]


def class_names_arg(text: str) -> tuple[str, ...]:
    """argparse type: comma-separated class names, at least two, all different."""
    names = tuple(n.strip() for n in text.split(","))
    if len(names) < 2 or not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text}: expected two or more different class names, "
                                         "comma-separated, e.g. PNEUMONIA,NORMAL")
    return names


def add_model_overrides(parser: argparse.ArgumentParser) -> None:
    """Flags that say what cannot be inferred from a foreign .keras file."""
    from ..preprocessing import CROPS, EQUALIZATIONS, LAYOUTS, SCALINGS

    g = parser.add_argument_group("model (for files not written by xaixray)")
    g.add_argument("--scaling", choices=sorted(SCALINGS), help="pixel scaling the model expects")
    g.add_argument("--layout", choices=sorted(LAYOUTS), help="image, or rows for a row-LSTM")
    g.add_argument("--equalize", choices=sorted(EQUALIZATIONS),
                   help="contrast equalisation the model was trained with (default none)")
    g.add_argument("--crop", choices=sorted(CROPS),
                   help="crop the model was trained with (default none)")
    g.add_argument("--channels", type=int, choices=(1, 3))
    g.add_argument("--input-size", type=input_size, metavar="HxW")
    g.add_argument("--class-names", type=class_names_arg, metavar="A,B",
                   help="class names in the model's output order (default NORMAL,PNEUMONIA; "
                        "one sigmoid unit is the probability of the second)")
    g.add_argument("--positive", metavar="CLASS",
                   help="the positive class (the finding), by name (default PNEUMONIA when "
                        "it is a class, else the last)")
    g.add_argument("--threshold", type=float,
                   help="decision threshold on the probability of the positive class")
    parser.add_argument("--unsafe", action="store_true",
                        help="turn Keras safe mode off, so that model files holding Python code "
                             "(Lambda layers) load: only for files you trust")


def load_classifier(args: argparse.Namespace, notice: bool = True):
    """Load ``args.model`` with any overrides given on the command line.

    ``notice``: say in one line on stderr when the input scaling was guessed.
    """
    from ..classifier import Classifier

    overrides = {k: getattr(args, k, None)
                 for k in ("scaling", "layout", "equalize", "crop", "channels", "input_size",
                           "threshold", "class_names")}
    overrides["positive_class"] = getattr(args, "positive", None)
    clf = Classifier.load(args.model, unsafe=bool(getattr(args, "unsafe", False)),
                          **{k: v for k, v in overrides.items() if v is not None})
    guess = scaling_notice(clf.metadata()) if notice else None
    if guess is not None:
        warn(getattr(args, "command", None) or "model", guess)
    return clf


def images_from_args(args: argparse.Namespace, command: str
                     ) -> tuple[list[Path], list[str]] | None:
    """Split ``[MODEL] IMAGE...`` into ``args.model`` and image paths (folders expanded).

    Returns ``(paths, problems)`` as :func:`gather_images` (noting mask files that have no image
    beside them), or ``None`` (after saying so) when no image was given at all.
    """
    args.model, inputs = split_model_and_inputs(args.inputs, args.model)
    if not inputs:
        warn(command, "error: no images given")
        return None
    images, problems, orphans = gather_images(inputs)
    note_orphan_masks(command, orphans)
    return images, problems


def gather_images(inputs: Iterable[str | Path]) -> tuple[list[Path], list[str], list[Path]]:
    """Expand files and folders (recursively) into image paths.

    In folders, ``NAME_mask.png`` files are masks, never inputs (:mod:`xaixray.data.inputs`);
    a file named on its own is always an input.

    Returns the image paths, a list of one-line problems (missing paths, folders without
    images) to report at the end, and the mask files found with no image beside them.
    """
    images: list[Path] = []
    problems: list[str] = []
    orphans: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = list_folder(p, recursive=True)
            if not found.images:
                problems.append(f"{p}: folder holds no images")
            images.extend(found.images)
            orphans.extend(found.orphans)
        elif p.exists():
            images.append(p)
        else:
            problems.append(f"{p}: no such file")
    return images, problems, orphans


def note_orphan_masks(command: str, orphans: Iterable[Path]) -> None:
    """Say once, in one line, which mask files have no image beside them."""
    line = orphan_note(orphans)
    if line:
        warn(command, f"note: {line}")


def warn(command: str, message: str) -> None:
    print(f"xaixray {command}: {message}", file=sys.stderr)



def split_model_and_inputs(items: list[str], model: str | None) -> tuple[str, list[str]]:
    """Tell the model from the images in ``MODEL IMAGE...`` / ``IMAGE...`` argument lists.

    The first item is the model when it ends in one of
    :data:`~xaixray.classifier.MODEL_SUFFIXES` (any case) or is ``default``; otherwise
    ``--model`` (or the bundled default model) is used.
    """
    if model is None and items and (items[0] == "default" or
                                    Path(items[0]).suffix.lower() in MODEL_SUFFIXES):
        return items[0], items[1:]
    return model or "default", items


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Raise a one-line error if any output already exists and ``overwrite`` is off."""
    from ..errors import XaixrayError

    for p in paths:
        if p.exists() and not overwrite:
            raise XaixrayError(f"{p}: already exists (use --overwrite to replace it)")
