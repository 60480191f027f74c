"""P x K identity sampling for metric-learning batches (Hermans et al., 2017, "In Defense of the Triplet Loss")."""
from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence

import torch
from torch.utils.data import Sampler

from ..errors import DataError


class PKSampler(Sampler):
    """Batches of ``p`` distinct identities times ``k`` images each, as lists of dataset indices.

    Use as a ``DataLoader(batch_sampler=...)``. Each batch draws ``p`` identities uniformly
    without replacement, then ``k`` of each identity's images without replacement, or with
    replacement when it has fewer than ``k``. Batches are independent draws: one epoch is
    ``max(1, len(labels) // (p * k))`` batches, so it sees about as many images as the
    training set holds, though not each image exactly once (unlike torchreid's
    ``RandomIdentitySampler``, which walks every identity's images in chunks of ``k``).

    With ``epoch="identities"`` an epoch is one pass over the identities instead, as the
    upstream re-ID codebases sample (CoinCheung/SphereReID ``balanced_sampler.py``,
    seathiefwang/MGN-pytorch ``data/sampler.py``, LuckyDC/sft-reid ``utils/iterators.py``): the
    identities are shuffled once, and each of the ``len(identities) // p`` batches takes the
    next ``p`` of them (the remainder sits the epoch out).

    Random numbers come from ``generator`` (CPU; default ``torch.Generator`` seeded 0),
    which advances across epochs: a fixed seed gives a fixed sequence of epochs.
    Batch layout: identity-major, ``[id_1 x k, id_2 x k, ...]``.
    """

    EPOCHS = ("images", "identities")

    def __init__(self, labels: Sequence[int], p: int, k: int, generator: Optional[torch.Generator] = None,
                 epoch: str = "images"):
        for name, value in (("p", p), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataError(f"PKSampler: expected `{name}` to be a positive integer, got {value!r}")
        by_label: Dict[int, List[int]] = {}
        for index, label in enumerate(labels):
            by_label.setdefault(int(label), []).append(index)
        if p > len(by_label):
            raise DataError(f"PKSampler: expected `p` <= the number of identities ({len(by_label)}), got {p}")
        if epoch not in self.EPOCHS:
            raise DataError(f"PKSampler: expected `epoch` to be one of {', '.join(self.EPOCHS)}, got {epoch!r}")
        self.epoch = epoch
        self.identities = sorted(by_label)
        self.members = [torch.tensor(by_label[label], dtype=torch.long) for label in self.identities]
        self.p = p
        self.k = k
        self.num_images = len(labels)
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        if self.epoch == "identities":
            return len(self.identities) // self.p
        return max(1, self.num_images // (self.p * self.k))

    def __iter__(self) -> Iterator[List[int]]:
        if self.epoch == "identities":
            order = torch.randperm(len(self.identities), generator=self.generator)
            for start in range(0, len(self) * self.p, self.p):
                yield self.batch(order[start:start + self.p])
            return
        for _ in range(len(self)):
            yield self.batch()

    def batch(self, chosen: Optional[torch.Tensor] = None) -> List[int]:
        """One batch of ``p * k`` indices: ``k`` images of each identity slot in ``chosen`` (default: ``p``
        slots drawn without replacement)."""
        if chosen is None:
            chosen = torch.randperm(len(self.identities), generator=self.generator)[: self.p]
        batch: List[int] = []
        for slot in chosen.tolist():
            members = self.members[slot]
            if len(members) >= self.k:
                picks = torch.randperm(len(members), generator=self.generator)[: self.k]
            else:
                picks = torch.randint(0, len(members), (self.k,), generator=self.generator)
            batch.extend(members[picks].tolist())
        return batch
