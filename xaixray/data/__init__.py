"""Data: Kaggle-layout folders, patient splits, tf.data pipelines, augmentation, phantoms."""

from .augment import augmentation
from .folders import (
    ImageSet,
    class_weights,
    folder_classes,
    load_folder,
    patient_id,
    relabel,
    split_by_patient,
)
from .implants import implants_from_folder, make_implants, write_implants
from .inputs import FolderFiles, find_mask, is_mask_name, list_folder, orphan_note, split_masks
from .pipeline import decode_images, load_arrays, make_dataset
from .synthetic import Phantoms, make_phantoms, make_subtype_phantoms, write_subtype_folder

__all__ = [
    "FolderFiles",
    "ImageSet",
    "Phantoms",
    "augmentation",
    "class_weights",
    "decode_images",
    "find_mask",
    "folder_classes",
    "implants_from_folder",
    "is_mask_name",
    "list_folder",
    "load_arrays",
    "load_folder",
    "make_dataset",
    "make_implants",
    "make_phantoms",
    "make_subtype_phantoms",
    "orphan_note",
    "patient_id",
    "relabel",
    "split_by_patient",
    "split_masks",
    "write_implants",
    "write_subtype_folder",
]
