"""Batch transforms on tensors (no torchvision): normalization, padded random crop, horizontal flip.

Random numbers come from a CPU ``torch.Generator`` (the task's), so a task gives the same
crops and flips on any device.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def normalize(images: torch.Tensor, pixel_max: float, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` to float32 ``(x / pixel_max - mean_c) / std_c``."""
    x = images.to(torch.float32) / pixel_max
    mean_t = torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return (x - mean_t) / std_t


def random_crop_flip(images: torch.Tensor, padding: int, generator: torch.Generator, flip: bool = True) -> torch.Tensor:
    """Zero-pad by ``padding`` pixels, crop back to the input size at a random offset, flip half horizontally.

    The usual CIFAR augmentation (He et al. 2016, Sec. 4.2), applied to raw pixels, so the
    padding is black as with torchvision's ``RandomCrop(32, padding=4)`` before
    ``Normalize``. Offsets and flips are drawn from ``generator`` (CPU) in this order:
    row offsets, column offsets, flips.
    """
    n, c, h, w = images.shape
    device = images.device
    padded = F.pad(images, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    rows = dy[:, None] + torch.arange(h)
    cols = dx[:, None] + torch.arange(w)
    if flip:
        flipped = torch.rand(n, generator=generator) < 0.5
        cols = torch.where(flipped[:, None], cols.flip(1), cols)
    batch = torch.arange(n)[:, None, None, None]
    channel = torch.arange(c)[None, :, None, None]
    rows = rows[:, None, :, None]
    cols = cols[:, None, None, :]
    return padded[batch.to(device), channel.to(device), rows.to(device), cols.to(device)]
