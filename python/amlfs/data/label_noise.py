"""Symmetric label noise (the paper's noisy CIFAR-10, Li et al. ICCV 2019, Table 2)."""
from __future__ import annotations

from typing import Tuple

import torch

from .errors import DataError
from .rng import STREAM_LABEL_NOISE, SplitMix64, round_half_up


def corrupt_labels(labels: torch.Tensor, num_classes: int, ratio: float, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """(noisy labels, corrupted mask): exactly ``round_half_up(ratio * n)`` labels replaced.

    The corrupted samples are the first ``k`` of a seeded permutation; each gets a label
    drawn uniformly from the ``num_classes - 1`` *other* classes, so a corrupted label is
    never the true one and the noise rate is exactly ``k / n`` (not ``ratio * (C-1)/C``
    as with "replace by a uniformly random class"). Draws come from
    :class:`~amlfs.data.rng.SplitMix64` ``(seed, stream 3)``.
    """
    if not 0 <= ratio < 1:
        raise DataError(f"Expected `dataset.labelNoise.ratio` in [0, 1), got {ratio!r}")
    if num_classes < 2:
        raise DataError(f"label noise needs at least 2 classes, got {num_classes}")
    n = int(labels.shape[0])
    k = round_half_up(ratio * n)
    rng = SplitMix64(seed, STREAM_LABEL_NOISE)
    chosen = rng.permutation(n)[:k]
    noisy = labels.clone()
    mask = torch.zeros(n, dtype=torch.bool)
    for index in chosen:
        true = int(labels[index])
        noisy[index] = (true + 1 + rng.below(num_classes - 1)) % num_classes
        mask[index] = True
    return noisy, mask
