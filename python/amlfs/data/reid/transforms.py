"""Re-ID image transforms on tensors (no torchvision): load, resize, flip, pad-and-crop, erasing, normalize.

Shapes: one image is ``[C, H, W]``, a batch ``[N, C, H, W]``; sizes are in pixels
(``height_px`` x ``width_px``, e.g. 256 x 128 or 384 x 128). The random transforms act on a
batch and draw from a CPU ``torch.Generator``, one draw per image, in the order stated in
each docstring, so a seed fixes the augmentation on any device.

The training recipe of the strong re-ID baselines (Luo et al., 2019, "Bag of Tricks"):
resize, flip (p=0.5), pad 10 px and random crop, normalize, random erasing (p=0.5):
:func:`train_augment`. Evaluation only resizes and normalizes: :func:`eval_transform`.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_image(path: str) -> torch.Tensor:
    """An image file as RGB ``uint8 [3, H, W]`` (Pillow; grey or RGBA files are converted)."""
    from PIL import Image  # Pillow is only needed by code that reads image files

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except OSError as error:
        raise DataError(f"{path}: cannot read the image ({error})") from error
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def resize(images: torch.Tensor, height_px: int, width_px: int) -> torch.Tensor:
    """Bilinear resize of ``[C, H, W]`` or ``[N, C, H, W]`` to ``height_px`` x ``width_px``.

    Half-pixel centres (``align_corners=False``) with antialiasing when shrinking, like
    Pillow's and torchvision's bilinear resize. uint8 in, uint8 out (rounded); float stays float.
    """
    single = images.dim() == 3
    batch = images.unsqueeze(0) if single else images
    out = F.interpolate(batch.to(torch.float32), size=(height_px, width_px), mode="bilinear",
                        align_corners=False, antialias=True)
    if images.dtype == torch.uint8:
        out = out.round().clamp(0, 255).to(torch.uint8)
    else:
        out = out.to(images.dtype)
    return out.squeeze(0) if single else out


def hflip(images: torch.Tensor) -> torch.Tensor:
    """Mirror left-right (the last dimension)."""
    return images.flip(-1)


def random_hflip(images: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Flip each image of ``[N, C, H, W]`` with probability ``p`` (draws: ``N`` uniforms)."""
    flipped = (torch.rand(images.shape[0], generator=generator) < p).to(images.device)
    return torch.where(flipped[:, None, None, None], images.flip(-1), images)


def pad_random_crop(images: torch.Tensor, padding_px: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad ``[N, C, H, W]`` by ``padding_px`` on each side, crop back to ``H x W`` at a random offset.

    Draws: ``N`` row offsets, then ``N`` column offsets, each uniform in ``[0, 2 * padding_px]``.
    """
    n, c, h, w = images.shape
    padded = F.pad(images, (padding_px, padding_px, padding_px, padding_px))
    dy = torch.randint(0, 2 * padding_px + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding_px + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)).to(images.device)
    cols = (dx[:, None] + torch.arange(w)).to(images.device)
    index_rows = rows[:, None, :, None].expand(n, c, h, padded.shape[-1])
    cropped_rows = padded.gather(2, index_rows)
    return cropped_rows.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def normalize(images: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
              std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """float32 ``(x - mean_c) / std_c`` with ``x`` in [0, 1]: uint8 input is divided by 255 first."""
    x = images.to(torch.float32)
    if images.dtype == torch.uint8:
        x = x / 255.0
    shape = (-1, 1, 1) if x.dim() == 3 else (1, -1, 1, 1)
    mean_t = torch.tensor(mean, dtype=torch.float32, device=x.device).view(shape)
    std_t = torch.tensor(std, dtype=torch.float32, device=x.device).view(shape)
    return (x - mean_t) / std_t


def erasing_box(height_px: int, width_px: int, generator: torch.Generator, area: Tuple[float, float],
                aspect: Tuple[float, float], attempts: int = 100) -> Optional[Tuple[int, int, int, int]]:
    """``(top, left, h, w)`` of one erasing rectangle, or None when ``attempts`` draws all failed.

    As the reference code of Zhong et al.: area fraction uniform in ``area``, aspect ratio
    ``h / w`` uniform in ``aspect``; retry while the box does not fit strictly inside.
    Draws per attempt: area, aspect; then, on success, top and left.
    """
    for _ in range(attempts):
        target = (area[0] + (area[1] - area[0]) * torch.rand((), generator=generator).item()) * height_px * width_px
        ratio = aspect[0] + (aspect[1] - aspect[0]) * torch.rand((), generator=generator).item()
        h = int(round(math.sqrt(target * ratio)))
        w = int(round(math.sqrt(target / ratio)))
        if 0 < h < height_px and 0 < w < width_px:
            top = int(torch.randint(0, height_px - h + 1, (), generator=generator))
            left = int(torch.randint(0, width_px - w + 1, (), generator=generator))
            return top, left, h, w
    return None


def random_erasing(images: torch.Tensor, generator: torch.Generator, p: float = 0.5,
                   area: Tuple[float, float] = (0.02, 0.4), aspect: Tuple[float, float] = (0.3, 1 / 0.3),
                   fill: Union[None, float, Sequence[float]] = None) -> torch.Tensor:
    """Random erasing (Zhong et al., AAAI 2020) of a float ``[N, C, H, W]`` batch, defaults as the paper.

    Each image is erased with probability ``p`` (draw: one uniform), in a rectangle from
    :func:`erasing_box`, filled with ``fill`` (a value, or one per channel, in normalized units;
    see :func:`erasing_fill`) or, when None, with standard-normal noise (random values in
    normalized units, as torchvision's ``value='random'``).
    """
    if images.dtype == torch.uint8:
        raise DataError("random_erasing: expected a float batch (apply it after normalize), got uint8")
    out = images.clone()
    n, c, h, w = images.shape
    for i in range(n):
        if torch.rand((), generator=generator).item() >= p:
            continue
        box = erasing_box(h, w, generator, area, aspect)
        if box is None:
            continue
        top, left, bh, bw = box
        if fill is None:
            patch = torch.randn((c, bh, bw), generator=generator).to(images.device, images.dtype)
        else:
            values = torch.as_tensor(fill, dtype=images.dtype, device=images.device).reshape(-1, 1, 1)
            patch = values.expand(c, bh, bw)
        out[i, :, top:top + bh, left:left + bw] = patch
    return out


#: ``erasingFill`` -> what fills an erased rectangle: noise (None), zero in normalized units (the
#: ImageNet mean colour; CoinCheung/SphereReID ``market1501.py`` erases after ``Normalize`` with
#: ``mean=[0, 0, 0]``), or the pixel value 127 before normalization (LuckyDC/sft-reid).
ERASING_FILLS = ("random", "normalizedZero", "pixel127")


def erasing_fill(name: str) -> Union[None, float, Tuple[float, ...]]:
    """The ``fill`` of :func:`random_erasing` for an ``erasingFill`` name (:data:`ERASING_FILLS`)."""
    if name == "random":
        return None
    if name == "normalizedZero":
        return 0.0
    if name == "pixel127":
        return tuple((127 / 255 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD))
    raise DataError(f"erasing fill: expected one of {', '.join(ERASING_FILLS)}, got {name!r}")


def train_augment(images: torch.Tensor, generator: torch.Generator, flip_p: float = 0.5, padding_px: int = 10,
                  erasing_p: float = 0.5) -> torch.Tensor:
    """Resized uint8 ``[N, 3, H, W]`` to an augmented, normalized float32 batch.

    Order (and order of draws): flip, pad-and-crop, normalize (ImageNet), random erasing.
    """
    x = random_hflip(images, generator, flip_p)
    if padding_px > 0:
        x = pad_random_crop(x, padding_px, generator)
    return random_erasing(normalize(x), generator, erasing_p)


def eval_transform(images: torch.Tensor) -> torch.Tensor:
    """Resized uint8 ``[N, 3, H, W]`` to a normalized float32 batch (ImageNet mean and std)."""
    return normalize(images)
