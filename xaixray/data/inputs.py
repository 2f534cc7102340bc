"""Which files in a folder are inputs: the one rule that keeps lesion masks out of the data.

Masks sit beside their images (``chest.jpeg`` has ``chest_mask.png``; docs/faithfulness.md). A
file whose stem ends in ``_mask`` is never an input: when an image of the same stem without
``_mask`` sits beside it, it is that image's mask; otherwise it is an *orphan* mask, listed once
in a note. Every command that lists a folder (``audit``, ``evaluate``, ``calibrate``,
``explain``, ``predict``, ``train``) goes through :func:`split_masks`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..imaging import IMAGE_SUFFIXES, is_image_file

MASK_SUFFIX = "_mask"


def is_mask_name(path: str | os.PathLike) -> bool:
    """Whether a file's name marks it as a mask (its stem ends in ``_mask``, any case)."""
    stem = Path(path).stem
    return stem.lower().endswith(MASK_SUFFIX) and len(stem) > len(MASK_SUFFIX)


def find_mask(image_path: str | os.PathLike) -> Path | None:
    """The mask file beside an image: ``chest.jpeg`` -> ``chest_mask.png`` (PNG first, then the
    other image suffixes, lower or upper case)."""
    p = Path(image_path)
    for suffix in (".png", *(s for s in IMAGE_SUFFIXES if s != ".png")):
        for spelled in (suffix, suffix.upper()):
            candidate = p.with_name(f"{p.stem}{MASK_SUFFIX}{spelled}")
            if candidate.is_file():
                return candidate
    return None


@dataclass
class FolderFiles:
    """The files of a folder, sorted into inputs and masks.

    Attributes
    ----------
    images
        The input images, in the order given.
    masks
        ``{image: its mask}`` for the images that have one.
    orphans
        Mask files with no image beside them (not inputs either).
    """

    images: list[Path]
    masks: dict[Path, Path] = field(default_factory=dict)
    orphans: list[Path] = field(default_factory=list)


def split_masks(files: Iterable[str | os.PathLike]) -> FolderFiles:
    """Sort image files (as a folder listing gives them) into inputs, their masks and orphans.

    A file whose stem ends in ``_mask`` is a mask: of the image of the same stem without the
    suffix when one is among ``files``, else an orphan. Neither kind is an input.
    """
    paths = [Path(f) for f in files]
    images = [p for p in paths if not is_mask_name(p)]
    stems = {(p.parent, p.stem.lower()): p for p in images}
    masks: dict[Path, Path] = {}
    orphans: list[Path] = []
    for p in paths:
        if not is_mask_name(p):
            continue
        owner = stems.get((p.parent, p.stem[: -len(MASK_SUFFIX)].lower()))
        if owner is None:
            orphans.append(p)
        elif owner not in masks or p.suffix.lower() == ".png":  # as find_mask: PNG first
            masks[owner] = p
    return FolderFiles(images, masks, orphans)


def list_folder(folder: str | os.PathLike, recursive: bool = False) -> FolderFiles:
    """The image files of ``folder`` (and its subfolders when ``recursive``), sorted, with the
    masks taken out (:func:`split_masks`)."""
    folder = Path(folder)
    found = folder.rglob("*") if recursive else folder.iterdir()
    return split_masks(sorted(f for f in found if f.is_file() and is_image_file(f)))


def orphan_note(orphans: Iterable[str | os.PathLike], shown: int = 3) -> str | None:
    """One line about mask files that have no image beside them, or ``None`` if there are none."""
    orphans = [Path(p) for p in orphans]
    if not orphans:
        return None
    names = ", ".join(p.name for p in orphans[:shown])
    more = f" and {len(orphans) - shown} more" if len(orphans) > shown else ""
    return (f"{len(orphans)} mask file(s) with no image beside them, not used as inputs: "
            f"{names}{more}")
