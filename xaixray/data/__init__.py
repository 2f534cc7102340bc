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
from .pipeline import decode_images, load_arrays, make_dataset
from .synthetic import Phantoms, make_phantoms, make_subtype_phantoms, write_subtype_folder

__all__ = [
    "ImageSet",
    "Phantoms",
    "augmentation",
    "class_weights",
    "decode_images",
    "folder_classes",
    "load_arrays",
    "load_folder",
    "make_dataset",
    "make_phantoms",
    "make_subtype_phantoms",
    "patient_id",
    "relabel",
    "split_by_patient",
    "write_subtype_folder",
]
