"""``digits``: scikit-learn's bundled handwritten digits (1,797 real 8x8 images, 10 classes, no download).

The test split is a fixed 20 % stratified hold-out of the 1,797 images, seeded by
``dataset.splits.splitSeed`` (stream 1), so it never depends on ``valFraction``.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Tuple

import numpy as np
import torch

from .config import DatasetConfig
from .errors import DataError
from .image_set import ImageSet
from .registry import RawDataset, register_dataset
from .rng import STREAM_TEST_HOLDOUT
from .splits import stratified_holdout

TEST_FRACTION = 0.2
PIXEL_MAX = 16.0


def digits_arrays() -> Tuple[np.ndarray, np.ndarray]:
    """(pixels ``[1797, 64]`` in 0..16, labels ``[1797]``) of scikit-learn's bundled digits.

    Reads ``sklearn/datasets/data/digits.csv.gz`` directly (what ``load_digits`` reads),
    which saves the second or two that importing scikit-learn takes at every worker start;
    falls back to ``load_digits`` when the file is not where it is expected.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("dataset `digits` needs scikit-learn (pip install 'amlfs[demo]')")
    path = os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data", "digits.csv.gz")
    if os.path.isfile(path):
        table = np.loadtxt(path, delimiter=",")
        return table[:, :-1], table[:, -1]
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target


@register_dataset("digits")
def read_digits(config: DatasetConfig) -> RawDataset:
    pixels, target = digits_arrays()
    if pixels.shape != (1797, 64):
        raise DataError(f"scikit-learn digits: expected 1797 x 64 pixels, got {pixels.shape}")
    images = torch.as_tensor(pixels).round().to(torch.uint8).view(-1, 1, 8, 8)
    labels = torch.as_tensor(target).to(torch.int64)
    everything = ImageSet(images, labels)
    pool, test = stratified_holdout(labels.tolist(), TEST_FRACTION, config.split_seed, STREAM_TEST_HOLDOUT,
                                    "digits test hold-out")
    pixels = images.double() / PIXEL_MAX
    return RawDataset(
        pool=everything.subset(pool),
        test=everything.subset(test),
        num_classes=10,
        pixel_max=PIXEL_MAX,
        mean=(float(pixels.mean()),),
        std=(float(pixels.std()),),
    )
