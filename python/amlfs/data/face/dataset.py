"""A ``torch.utils.data.Dataset`` over face image files, at the network's input size."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch.utils.data import Dataset

from ..errors import DataError
from .layout import FACE_HEIGHT_PX, FACE_WIDTH_PX
from .transforms import load_face

#: Label of an image without a class (LFW or validation-pair images, used for features only).
NO_LABEL = -1


class FaceImageDataset(Dataset):
    """Item ``i``: ``(uint8 [3, height_px, width_px], label)``; default size 112 x 96 px.

    ``FaceImageDataset(train.paths, train.labels)`` for training (batch-level augmentation,
    :func:`face_train_augment`, runs after collation); ``FaceImageDataset(pairs.as_index().paths)``
    for features, labels then :data:`NO_LABEL`.
    """

    def __init__(self, paths: Sequence[str], labels: Optional[Sequence[int]] = None,
                 height_px: int = FACE_HEIGHT_PX, width_px: int = FACE_WIDTH_PX):
        self.paths = tuple(paths)
        self.labels = tuple(labels) if labels is not None else (NO_LABEL,) * len(self.paths)
        if len(self.labels) != len(self.paths):
            raise DataError(f"FaceImageDataset: expected {len(self.paths)} labels, got {len(self.labels)}")
        self.height_px = height_px
        self.width_px = width_px

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        return load_face(self.paths[index], self.height_px, self.width_px), self.labels[index]
