"""In-memory image classification data: images as uint8 ``[N, C, H, W]``, labels as int64 ``[N]``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch

from .errors import DataError


@dataclass(frozen=True)
class ImageSet:
    """Images (uint8 ``[N, C, H, W]``, values ``0..pixel_max``) and int64 labels ``[N]``.

    ``source_index`` (int64 ``[N]``) is each sample's position in the files it was read
    from, so splits can be checked and traced back.
    """

    images: torch.Tensor
    labels: torch.Tensor
    source_index: Optional[torch.Tensor] = None

    def __post_init__(self):
        if self.source_index is None:
            object.__setattr__(self, "source_index", torch.arange(self.images.shape[0]))
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise DataError(f"Expected images as uint8 [N, C, H, W], got {self.images.dtype} {list(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise DataError(f"Expected labels as int64 [{self.images.shape[0]}], got {self.labels.dtype} "
                            f"{list(self.labels.shape)}")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: Sequence[int]) -> "ImageSet":
        index = torch.as_tensor(list(indices), dtype=torch.int64)
        return ImageSet(self.images[index], self.labels[index], self.source_index[index])

    def with_labels(self, labels: torch.Tensor) -> "ImageSet":
        return ImageSet(self.images, labels, self.source_index)


@dataclass(frozen=True)
class ClassificationData:
    """The three splits of a classification dataset and how to normalize its pixels.

    ``train`` carries the (possibly noisy) training labels; ``clean_train_labels`` the
    original ones, and ``noisy`` marks the corrupted entries (all ``False`` without noise).
    ``mean`` and ``std`` are per channel, in units of ``pixel / pixel_max``.
    """

    kind: str
    train: ImageSet
    val: ImageSet
    test: ImageSet
    num_classes: int
    pixel_max: float
    mean: Tuple[float, ...]
    std: Tuple[float, ...]
    clean_train_labels: torch.Tensor
    noisy: torch.Tensor

    def split(self, name: str) -> ImageSet:
        if name not in ("train", "val", "test"):
            raise DataError(f"Expected a split name train, val or test, got {name!r}")
        return getattr(self, name)

    def sizes(self) -> Dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}
