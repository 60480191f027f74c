"""A ``torch.utils.data.Dataset`` over re-ID image files, resized to a fixed size."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch.utils.data import Dataset

from ..errors import DataError
from .images import ReidImages
from .transforms import load_image, resize


class ReidImageDataset(Dataset):
    """Item ``i``: ``(uint8 [3, height_px, width_px], label, camid)``.

    ``labels`` default to the original pids (query, gallery); pass a training set's labels
    for classification. Batch-level augmentation (:func:`train_augment`) runs after collation.
    """

    def __init__(self, images: ReidImages, height_px: int, width_px: int, labels: Optional[Sequence[int]] = None):
        self.images = images
        self.labels = tuple(images.pids if labels is None else labels)
        if len(self.labels) != len(images):
            raise DataError(f"ReidImageDataset: expected {len(images)} labels, got {len(self.labels)}")
        self.height_px = height_px
        self.width_px = width_px

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int, int]:
        pixels = resize(load_image(self.images.paths[index]), self.height_px, self.width_px)
        return pixels, self.labels[index], self.images.camids[index]
