"""Data: Kaggle-layout folders, patient-grouped splits, tf.data pipelines, augmentation, phantoms."""

from .synthetic import Phantoms, make_phantoms

__all__ = ["Phantoms", "make_phantoms"]
