"""The 20-layer face network of SphereFace (Liu et al., CVPR 2017, Table 2) and CosFace (Wang et al., CVPR 2018).

Input: aligned RGB faces ``[N, 3, 112, 96]`` (H x W, px), normalized as the reference code
does, ``(pixel - 127.5) / 128``. Four stages with 64, 128, 256 and 512 channels; each
stage is a stride-2 3x3 convolution + PReLU followed by residual units (1, 2, 4 and 1
units), each unit two 3x3 convolutions with a PReLU after each and an identity shortcut
(``out = x + prelu(conv(prelu(conv(x))))``, no activation after the sum, no batch norm).
The spatial size halves at each stage, ``ceil(n / 2)``: 112x96 -> 56x48 -> 28x24 -> 14x12
-> 7x6. A fully connected layer maps the flattened ``7 * 6 * 512`` map to the 512-d
embedding. The "20 layers" are the convolutions: ``4 + 2 * (1 + 2 + 4 + 1) = 20``; the
FC layer is not counted (as the paper's 4- to 64-layer family, Table 2).

Initialization, following the reference Caffe model (wy1iu/sphereface,
``sphereface_model.prototxt``), which the CosFace paper reuses:

- stride-2 convolutions and the FC layer: Caffe's ``xavier`` filler, which is uniform on
  ``[-sqrt(3 / fan_in), sqrt(3 / fan_in)]`` (fan-in variance, not Glorot's average of fan
  in and out), bias 0;
- convolutions inside residual units: Gaussian, std 0.01, no bias (the reference has a
  bias with learning rate 0, i.e. a constant zero);
- PReLU: one slope per channel, 0.25 (Caffe's default).
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
from torch import nn

STAGE_CHANNELS = (64, 128, 256, 512)
STAGE_UNITS = (1, 2, 4, 1)
INPUT_SIZE_PX = (112, 96)


def caffe_xavier_(weight: torch.Tensor) -> torch.Tensor:
    """Caffe's ``xavier`` filler in place: uniform on ``[-a, a]``, ``a = sqrt(3 / fan_in)``."""
    fan_in = weight[0].numel()
    bound = math.sqrt(3.0 / fan_in)
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


def stage_size_px(size_px: int) -> int:
    """Output size of a 3x3, stride-2, padding-1 convolution: ``floor((n - 1) / 2) + 1 = ceil(n / 2)``."""
    return (size_px - 1) // 2 + 1


class ResidualUnit(nn.Module):
    """``x + prelu2(conv2(prelu1(conv1(x))))``: two 3x3 convolutions (``channels`` wide, no bias)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.prelu1 = nn.PReLU(channels, init=0.25)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.prelu2 = nn.PReLU(channels, init=0.25)
        for conv in (self.conv1, self.conv2):
            nn.init.normal_(conv.weight, std=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.prelu2(self.conv2(self.prelu1(self.conv1(x))))


class Stage(nn.Module):
    """Stride-2 3x3 convolution (with bias) + PReLU, then ``units`` residual units."""

    def __init__(self, in_channels: int, channels: int, units: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 3, stride=2, padding=1)
        self.prelu = nn.PReLU(channels, init=0.25)
        self.units = nn.Sequential(*(ResidualUnit(channels) for _ in range(units)))
        caffe_xavier_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(self.prelu(self.conv(x)))


class SphereFaceNet(nn.Module):
    """"sphere20": ``forward(x [N, 3, H, W]) -> embedding [N, embedding_dim]`` (defaults 112 x 96 px, 512-d).

    Args:
        embedding_dim: size of the embedding (512 in both papers).
        input_size_px: ``(height, width)`` of the input in px; the FC layer is sized for it
            (``(112, 96)`` gives a 7 x 6 map), and :meth:`forward` rejects any other size.
        stage_units: residual units per stage; ``(1, 2, 4, 1)`` is the 20-layer network,
            ``(3, 8, 16, 3)`` the 64-layer one of SphereFace.
    """

    def __init__(self, embedding_dim: int = 512, input_size_px: Tuple[int, int] = INPUT_SIZE_PX,
                 stage_units: Sequence[int] = STAGE_UNITS):
        super().__init__()
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise ValueError(f"Expected `embedding_dim` to be a positive integer, got {embedding_dim!r}")
        if (not isinstance(input_size_px, (tuple, list)) or len(input_size_px) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in input_size_px)):
            raise ValueError(f"Expected `input_size_px` to be (height, width), two positive integers in px, "
                             f"got {input_size_px!r}")
        units = tuple(stage_units)
        if len(units) != len(STAGE_CHANNELS) or not all(isinstance(u, int) and u >= 0 for u in units):
            raise ValueError(f"Expected `stage_units` to be {len(STAGE_CHANNELS)} non-negative integers, "
                             f"got {stage_units!r}")
        self.embedding_dim = embedding_dim
        self.input_size_px = (int(input_size_px[0]), int(input_size_px[1]))
        self.stage_units = units
        in_channels = 3
        stages = []
        for channels, count in zip(STAGE_CHANNELS, units):
            stages.append(Stage(in_channels, channels, count))
            in_channels = channels
        self.stages = nn.Sequential(*stages)
        self.feature_size_px = self.map_size_px(self.input_size_px)
        self.fc = nn.Linear(in_channels * self.feature_size_px[0] * self.feature_size_px[1], embedding_dim)
        caffe_xavier_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    @staticmethod
    def map_size_px(input_size_px: Tuple[int, int]) -> Tuple[int, int]:
        """``(height, width)`` of the last stage's map for an input of ``input_size_px`` (112x96 -> 7x6)."""
        height, width = input_size_px
        for _ in STAGE_CHANNELS:
            height, width = stage_size_px(height), stage_size_px(width)
        return height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, 3, H, W]`` (normalized pixels) to the embedding ``[N, embedding_dim]`` (not normalized)."""
        height, width = self.input_size_px
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != (3, height, width):
            got = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"Expected `x` to have shape [N, 3, {height}, {width}] (RGB, H x W in px, "
                             f"from `input_size_px`), got {got}")
        return self.fc(torch.flatten(self.stages(x), 1))

    def extra_repr(self) -> str:
        return (f"embedding_dim={self.embedding_dim}, input_size_px={self.input_size_px}, "
                f"stage_units={self.stage_units}")
