"""Dataset kinds register a reader here; :func:`load_dataset` adds the splits and the label noise.

A reader returns the *training pool* and the *test split* (``RawDataset``). From the pool
:func:`load_dataset` carves the validation split (``dataset.splits.valFraction``,
stratified, seeded by ``splitSeed``; never from the test split) and then corrupts the
labels of what remains for training (``dataset.labelNoise``; the validation and test
labels stay clean).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import torch

from .config import DatasetConfig
from .disk_layout import DiskLayout
from .errors import DataError
from .image_set import ClassificationData, ImageSet
from .label_noise import corrupt_labels
from .rng import STREAM_VALIDATION
from .splits import stratified_holdout


@dataclass(frozen=True)
class RawDataset:
    pool: ImageSet
    test: ImageSet
    num_classes: int
    pixel_max: float
    mean: Tuple[float, ...]
    std: Tuple[float, ...]


Reader = Callable[..., RawDataset]  # reader(config: DatasetConfig, **options) -> RawDataset
_READERS: Dict[str, Reader] = {}
_LAYOUTS: Dict[str, Optional[DiskLayout]] = {}


def register_dataset(kind: str, layout: Optional[DiskLayout] = None) -> Callable[[Reader], Reader]:
    """Decorator: register ``reader(config, **options) -> RawDataset`` for ``dataset.kind == kind``;
    ``layout`` is what it reads under ``dataset.root`` (None: built in, nothing read from disk)."""

    def decorate(reader: Reader) -> Reader:
        if kind in _READERS:
            raise ValueError(f"dataset kind {kind!r} is already registered")
        _READERS[kind] = reader
        _LAYOUTS[kind] = layout
        return reader

    return decorate


def dataset_kinds() -> List[str]:
    return sorted(_READERS)


def dataset_layout(kind: str) -> Optional[DiskLayout]:
    """The on-disk layout of a registered kind, None for a built-in one."""
    if kind not in _LAYOUTS:
        raise DataError(f"`dataset.kind`: {kind!r} has no reader in this version (available: {', '.join(dataset_kinds())})")
    return _LAYOUTS[kind]


def load_dataset(section: Mapping[str, Any], **reader_options: Any) -> ClassificationData:
    """Read ``experiment["dataset"]`` into train / val / test splits.

    ``reader_options`` go to the kind's reader as keyword arguments: what a baseline's
    options say about the data (``spec=`` of ``synthetic-classes``); none for the others.
    """
    config = DatasetConfig.from_section(section)
    reader = _READERS.get(config.kind)
    if reader is None:
        raise DataError(f"`dataset.kind`: {config.kind!r} has no reader in this version "
                        f"(available: {', '.join(dataset_kinds())})")
    raw = reader(config, **reader_options)
    kept, held = stratified_holdout(
        raw.pool.labels.tolist(), config.val_fraction, config.split_seed, STREAM_VALIDATION,
        "dataset.splits.valFraction",
    )
    train, val = raw.pool.subset(kept), raw.pool.subset(held)
    clean = train.labels.clone()
    noisy = torch.zeros(len(train), dtype=torch.bool)
    if config.noise_ratio > 0:
        labels, noisy = corrupt_labels(clean, raw.num_classes, config.noise_ratio, config.noise_seed)
        train = train.with_labels(labels)
    return ClassificationData(
        kind=config.kind, train=train, val=val, test=raw.test, num_classes=raw.num_classes,
        pixel_max=raw.pixel_max, mean=raw.mean, std=raw.std, clean_train_labels=clean, noisy=noisy,
    )
