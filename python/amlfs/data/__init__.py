"""Datasets: readers for standard on-disk layouts, seeded splits, label noise.

Importing this package registers the built-in kinds (``digits``, ``synthetic-classes``, ``cifar10-bin``).
"""
from . import cifar10, digits, synthetic_classes  # noqa: F401  (registration)
from .config import DatasetConfig
from .errors import DataError
from .image_set import ClassificationData, ImageSet
from .label_noise import corrupt_labels
from .registry import RawDataset, dataset_kinds, load_dataset, register_dataset
from .rng import SplitMix64, round_half_up
from .splits import stratified_holdout
from .synthetic_classes import SyntheticClassesSpec

__all__ = [
    "ClassificationData",
    "DataError",
    "DatasetConfig",
    "ImageSet",
    "RawDataset",
    "SplitMix64",
    "SyntheticClassesSpec",
    "corrupt_labels",
    "dataset_kinds",
    "load_dataset",
    "register_dataset",
    "round_half_up",
    "stratified_holdout",
]
