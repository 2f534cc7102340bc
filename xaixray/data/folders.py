"""Kaggle-layout image folders and patient-grouped validation splits.

Layout: ``ROOT/{train,test,val}/{NORMAL,PNEUMONIA}/*.jpeg`` (any split may be missing), or a single
split folder ``DIR/{NORMAL,PNEUMONIA}/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..labels import CLASS_NAMES
from .inputs import FolderFiles, list_folder


@dataclass
class ImageSet:
    """Labelled image files.

    Attributes
    ----------
    paths
        Image file paths.
    labels
        Class indices into ``class_names``.
    class_names
        Class names in index order.
    root
        The folder the images were listed from, if any.
    masks
        ``{image path: its mask file}`` for the images with a ``NAME_mask.png`` beside them
        (:mod:`xaixray.data.inputs`); masks are never among :attr:`paths`.
    orphan_masks
        Mask files of the folder with no image beside them (not inputs either).
    """

    paths: list[Path]
    labels: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES
    root: Path | None = field(default=None, repr=False)
    masks: dict[Path, Path] = field(default_factory=dict, repr=False)
    orphan_masks: list[Path] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def patients(self) -> list[str]:
        """Patient identifier of each image (see :func:`patient_id`)."""
        return [patient_id(p) for p in self.paths]

    def counts(self) -> dict[str, int]:
        """Number of images per class."""
        return {name: int((self.labels == i).sum()) for i, name in enumerate(self.class_names)}

    def relabel(self, class_names: Sequence[str]) -> ImageSet:
        """The same images with labels indexing ``class_names`` (a model's output order).

        Labels are matched by name, so a model whose classes are in another order is scored
        against the right labels.

        Raises
        ------
        DataError
            If one of this set's classes is not in ``class_names``.
        """
        return ImageSet(list(self.paths), relabel(self.labels, self.class_names, class_names),
                        tuple(str(c) for c in class_names), self.root, dict(self.masks),
                        list(self.orphan_masks))

    def subset(self, index: Sequence[int] | np.ndarray) -> ImageSet:
        """The images at ``index`` (with their masks)."""
        index = np.asarray(index, dtype=int)
        paths = [self.paths[i] for i in index]
        return ImageSet(paths, self.labels[index], self.class_names, self.root,
                        {p: self.masks[p] for p in paths if p in self.masks},
                        list(self.orphan_masks))

    def mask_counts(self) -> dict[str, dict[str, int]]:
        """``{class: {"images": n, "masks": m}}``: how many images of each class have a mask."""
        has = np.asarray([p in self.masks for p in self.paths], bool)
        return {name: {"images": int((self.labels == i).sum()),
                       "masks": int(has[self.labels == i].sum())}
                for i, name in enumerate(self.class_names)}


def relabel(labels: Sequence[int] | np.ndarray, from_names: Sequence[str],
            to_names: Sequence[str]) -> np.ndarray:
    """Labels indexing ``from_names`` turned into labels indexing ``to_names``, by name.

    Raises
    ------
    DataError
        If a class of ``from_names`` is not in ``to_names``.
    """
    to = [str(c) for c in to_names]
    missing = [str(c) for c in from_names if str(c) not in to]
    if missing:
        raise DataError(f"the images' classes ({', '.join(map(str, from_names))}) are not the "
                        f"model's ({', '.join(to)}); give the model its class names "
                        "(class_names=..., --class-names)")
    order = np.asarray([to.index(str(c)) for c in from_names], dtype=int)
    return order[np.asarray(labels, dtype=int)]


_PERSON = re.compile(r"^(person\d+)_", re.IGNORECASE)
_IM = re.compile(r"IM-(\d+)-", re.IGNORECASE)


def patient_id(path: str | Path) -> str:
    """The patient an image belongs to, from its official Kaggle file name.

    ``person1234_bacteria_5678.jpeg`` -> ``person1234``; ``IM-0115-0001.jpeg`` and
    ``NORMAL2-IM-0115-0001.jpeg`` -> ``IM-0115`` (grouped together, the conservative reading).
    Other names are their own group (the file stem).
    """
    name = Path(path).name
    m = _PERSON.match(name)
    if m:
        return m.group(1).lower()
    m = _IM.search(name)
    if m:
        return f"IM-{m.group(1)}"
    return Path(path).stem


SUBTYPES = {"BACTERIA": "bacteria", "BACTERIAL": "bacteria", "VIRAL": "virus",
            "VIRUS": "virus"}
"""Class names read from the Kaggle ``PNEUMONIA/`` folder's file names when the class has no
folder of its own: ``person1_bacteria_1.jpeg`` is BACTERIA, ``person1_virus_6.jpeg`` VIRAL."""


def load_folder(root: str | Path, split: str | None = "train",
                class_names: Sequence[str] = CLASS_NAMES) -> ImageSet:
    """List the labelled images of a Kaggle-layout folder.

    Parameters
    ----------
    root
        Either the dataset root (holding ``train/``, ``test/``, ``val/``) or one split folder
        (holding ``NORMAL/`` and ``PNEUMONIA/``, or one folder per class).
    split
        Which split to read when ``root`` is a dataset root.
    class_names
        The classes, in label order, each a folder. A subtype class (:data:`SUBTYPES`: BACTERIA,
        VIRAL) without a folder of its own is read from ``PNEUMONIA/`` by file name, so
        ``("NORMAL", "BACTERIA", "VIRAL")`` reads the three-class task from the Kaggle folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    base = root
    if not all(_has_class(root, c) for c in class_names):
        if split is None or not (root / split).is_dir():
            raise DataError(f"{root}: expected class folders {'/'.join(class_names)} or a "
                            f"'{split}/' split folder holding them")
        base = root / split
    paths: list[Path] = []
    labels: list[int] = []
    masks: dict[Path, Path] = {}
    orphans: list[Path] = []
    for i, name in enumerate(class_names):
        if not _has_class(base, name):
            raise DataError(f"{base}: has no {name}/ folder")
        files = _class_files(base, name)  # NAME_mask.png files are masks, never inputs
        paths.extend(files.images)
        labels.extend([i] * len(files.images))
        masks.update(files.masks)
        orphans.extend(files.orphans)
    if not paths:
        raise DataError(f"{base}: holds no images")
    return ImageSet(paths, np.asarray(labels, dtype=int), tuple(class_names), base, masks,
                    orphans)


def folder_classes(class_names: Sequence[str]) -> tuple[str, ...]:
    """The class folders to read for a model's classes: NORMAL/PNEUMONIA for two classes
    (matched to the model's order by name afterwards), the model's own for more."""
    return tuple(class_names) if len(class_names) > 2 else CLASS_NAMES


def _has_class(base: Path, name: str) -> bool:
    return (base / name).is_dir() or (str(name).upper() in SUBTYPES
                                      and (base / "PNEUMONIA").is_dir())


def _class_files(base: Path, name: str) -> FolderFiles:
    """The inputs (and masks) of one class: its folder, or for a pneumonia subtype the files of
    ``PNEUMONIA/`` whose names carry it."""
    folder = base / name
    if folder.is_dir():
        return list_folder(folder)
    word = f"_{SUBTYPES[str(name).upper()]}"
    files = list_folder(base / "PNEUMONIA")
    if files.images and not any(word in f.name.lower() for f in files.images):
        raise DataError(f"{base / 'PNEUMONIA'}: no file name says '{word[1:]}' "
                        f"(person*{word}_*), so the {name} class would be empty; name the files "
                        f"so, or give a {name}/ folder")
    return FolderFiles([f for f in files.images if word in f.name.lower()],
                       {f: m for f, m in files.masks.items() if word in f.name.lower()},
                       [f for f in files.orphans if word in f.name.lower()])


def split_by_patient(images: ImageSet, val_fraction: float = 0.2,
                     seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """Split into train and validation sets, grouped by patient and stratified by class.

    No patient has images on both sides (scikit-learn's ``StratifiedGroupKFold``; the first of
    ``round(1 / val_fraction)`` folds is the validation set).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if not 0.0 < val_fraction < 0.5:
        raise DataError(f"val_fraction must be in (0, 0.5), got {val_fraction}")
    n_splits = max(2, round(1.0 / val_fraction))
    groups = images.patients
    if len(set(groups)) < n_splits:
        raise DataError(f"too few patients ({len(set(groups))}) for a {val_fraction:.0%} "
                        "patient-grouped validation split")
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train_idx, val_idx = next(folds.split(np.zeros(len(images)), images.labels, groups))
    return images.subset(train_idx), images.subset(val_idx)


def class_weights(labels: np.ndarray, n_classes: int = 2) -> dict[int, float]:
    """Balanced class weights (``n / (n_classes * count)``), as the seeds use."""
    from sklearn.utils.class_weight import compute_class_weight

    classes = np.arange(n_classes)
    present = np.unique(labels)
    weights = compute_class_weight("balanced", classes=present, y=labels)
    out = {int(c): 1.0 for c in classes}
    out.update({int(c): float(w) for c, w in zip(present, weights, strict=True)})
    return out
