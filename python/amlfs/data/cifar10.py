"""``cifar10-bin``: the official CIFAR-10 binary version (``cifar-10-batches-bin``).

Layout: ``data_batch_1.bin`` ... ``data_batch_5.bin`` (training) and ``test_batch.bin``;
each a sequence of 3,073-byte records, one label byte (0-9) then 3,072 pixel bytes
(1,024 red, 1,024 green, 1,024 blue, rows of 32, i.e. CHW). The official files hold
10,000 records each; any whole number of records is accepted (the fixtures are tiny).
``dataset.root`` is that folder, or its parent holding ``cifar-10-batches-bin/``.
"""
from __future__ import annotations

import os
from typing import List, Tuple

import numpy as np
import torch

from .config import DatasetConfig
from .disk_layout import DiskLayout, Entry
from .errors import DataError
from .image_set import ImageSet
from .registry import RawDataset, register_dataset

RECORD_BYTES = 1 + 3 * 32 * 32
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
FOLDER = "cifar-10-batches-bin"
SOURCE = "cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar-10.html (the binary version)"
LAYOUT = DiskLayout(
    entries=tuple(Entry((name,), "file") for name in TRAIN_FILES + (TEST_FILE,)),
    expected=f"the {FOLDER} folder with {', '.join(TRAIN_FILES)}, {TEST_FILE}",
    fix=f"set `dataset.root` to the extracted {FOLDER} folder (or its parent) of {SOURCE}",
    folder=FOLDER,
)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# Per-channel mean and std of the 50,000 training images, in [0, 1] units.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def resolve_root(root: str) -> str:
    """The folder holding the batch files: ``root`` or ``root/cifar-10-batches-bin``."""
    if not root:
        raise DataError(f"`dataset.root`: expected the {FOLDER} folder, got an empty path")
    if not os.path.isdir(root):
        raise DataError(f"`dataset.root`: {root} is not a directory (expected {LAYOUT.expected})")
    nested = os.path.join(root, FOLDER)
    if not os.path.exists(os.path.join(root, TRAIN_FILES[0])) and os.path.isdir(nested):
        return nested
    return root


def read_batch(path: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8 ``[N, 3, 32, 32]``) and labels (int64 ``[N]``) of one batch file."""
    if not os.path.isfile(path):
        raise DataError(f"CIFAR-10 file not found: {path} (expected {LAYOUT.expected})")
    size = os.path.getsize(path)
    if size == 0 or size % RECORD_BYTES:
        raise DataError(f"{path}: {size} bytes is not a whole number of {RECORD_BYTES}-byte records "
                        "(label byte + 3072 pixel bytes); is this the binary version of CIFAR-10?")
    records = np.fromfile(path, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise DataError(f"{path}: record {int(bad[0])} has label {int(labels[bad[0]])}, expected 0-9")
    images = records[:, 1:].reshape(-1, 3, 32, 32)
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)


def read_cifar10(root: str) -> Tuple[ImageSet, ImageSet]:
    """(training images of the five data batches, test images) of a cifar-10-batches-bin folder."""
    folder = resolve_root(root)
    parts: List[Tuple[torch.Tensor, torch.Tensor]] = [read_batch(os.path.join(folder, f)) for f in TRAIN_FILES]
    train = ImageSet(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
    test = ImageSet(*read_batch(os.path.join(folder, TEST_FILE)))
    return train, test


@register_dataset("cifar10-bin", layout=LAYOUT)
def read_cifar10_dataset(config: DatasetConfig) -> RawDataset:
    train, test = read_cifar10(config.root)
    return RawDataset(pool=train, test=test, num_classes=10, pixel_max=255.0, mean=MEAN, std=STD)
