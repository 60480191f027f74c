"""Verification pairs in folds: LFW's ``pairs.txt`` and the validation pairs share this form."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import torch

from ..errors import DataError


@dataclass(frozen=True)
class PairIndex:
    """Pairs as indices into a list of distinct images, for computing each feature once.

    ``paths``: the distinct images, sorted; ``index``: long ``[P, 2]`` (rows of ``paths``);
    ``same``: bool ``[P]``; ``fold``: long ``[P]`` in ``0..num_folds-1``.
    """

    paths: Tuple[str, ...]
    index: torch.Tensor
    same: torch.Tensor
    fold: torch.Tensor


@dataclass(frozen=True)
class FacePairs:
    """Parallel tuples, one entry per pair: ``(path_a[i], path_b[i], same[i], fold[i])``.

    Order as in ``pairs.txt``: fold by fold, each fold its matched (same identity) pairs
    then its mismatched ones. ``num_folds`` is the number of folds of the k-fold threshold
    protocol (LFW: 10, threshold chosen on 9, accuracy on the held-out one).
    """

    path_a: Tuple[str, ...]
    path_b: Tuple[str, ...]
    same: Tuple[bool, ...]
    fold: Tuple[int, ...]
    num_folds: int

    def __post_init__(self) -> None:
        lengths = {len(self.path_a), len(self.path_b), len(self.same), len(self.fold)}
        if len(lengths) != 1:
            raise DataError(f"FacePairs: expected path_a, path_b, same and fold of one length, got "
                            f"{len(self.path_a)}, {len(self.path_b)}, {len(self.same)}, {len(self.fold)}")
        bad = [f for f in self.fold if not 0 <= f < self.num_folds]
        if bad:
            raise DataError(f"FacePairs: expected folds in 0..{self.num_folds - 1}, got {bad[0]}")

    def __len__(self) -> int:
        return len(self.path_a)

    def counts(self) -> Dict[str, int]:
        """Number of pairs, matched and mismatched."""
        matched = sum(self.same)
        return {"pairs": len(self), "same": matched, "different": len(self) - matched}

    def as_index(self) -> PairIndex:
        """The distinct images and the pairs as rows of them (see :class:`PairIndex`)."""
        paths = tuple(sorted(set(self.path_a) | set(self.path_b)))
        row = {path: i for i, path in enumerate(paths)}
        index = torch.tensor([[row[a], row[b]] for a, b in zip(self.path_a, self.path_b)],
                             dtype=torch.long).view(-1, 2)
        return PairIndex(paths, index, torch.tensor(self.same, dtype=torch.bool),
                         torch.tensor(self.fold, dtype=torch.long))
