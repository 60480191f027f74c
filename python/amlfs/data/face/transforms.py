"""Face transforms at 112 x 96 (height x width, px), the CosFace / SphereFace input (no torchvision).

Recipe of CosFace (Wang et al., CVPR 2018) and its public training code: aligned crops of
112 x 96, random horizontal flip for training, pixels mapped to ``[-1, 1]`` by
``(x / 255 - 0.5) / 0.5``; at test time the features of an image and of its mirror are
combined (concatenated in SphereFace's LFW evaluation). Images and batches are
``[3, H, W]`` / ``[N, 3, H, W]``; random transforms draw from a CPU ``torch.Generator``
so a seed fixes them on any device. ``load_image``, ``resize``, ``hflip`` and
``random_hflip`` are the re-ID ones.
"""
from __future__ import annotations

import torch

from ..errors import DataError
from ..reid.transforms import hflip, load_image, random_hflip, resize
from .layout import FACE_HEIGHT_PX, FACE_WIDTH_PX

__all__ = ["face_eval_transform", "face_train_augment", "load_face", "normalize_face",
           "with_flipped"]


def load_face(path: str, height_px: int = FACE_HEIGHT_PX, width_px: int = FACE_WIDTH_PX) -> torch.Tensor:
    """An aligned face file as uint8 ``[3, height_px, width_px]``, resized (bilinear) only if needed."""
    pixels = load_image(path)
    if tuple(pixels.shape[1:]) != (height_px, width_px):
        pixels = resize(pixels, height_px, width_px)
    return pixels


def normalize_face(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[..., H, W]`` in 0..255 to float32 ``(x / 255 - 0.5) / 0.5`` in ``[-1, 1]``."""
    if images.dtype != torch.uint8:
        raise DataError(f"normalize_face: expected a uint8 image batch (0..255), got {images.dtype}")
    return (images.to(torch.float32) / 255.0 - 0.5) / 0.5


def face_train_augment(images: torch.Tensor, generator: torch.Generator, flip_p: float = 0.5) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` to a float32 batch: random horizontal flip (draws: ``N`` uniforms), normalize."""
    return normalize_face(random_hflip(images, generator, flip_p))


def face_eval_transform(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` to a normalized float32 batch (no augmentation)."""
    return normalize_face(images)


def with_flipped(images: torch.Tensor) -> torch.Tensor:
    """``[N, C, H, W]`` to ``[2N, C, H, W]``: the images, then their mirrors, for one forward pass."""
    return torch.cat([images, hflip(images)], dim=0)
