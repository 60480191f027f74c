"""ResNet-50 (He et al., "Deep Residual Learning", CVPR 2016), parameter names as torchvision's ``resnet50``.

Layout: 7x7/2 conv (64) - BN - ReLU - 3x3/2 max pool, then four stages of bottleneck
blocks (3, 4, 6, 3 blocks; widths 64, 128, 256, 512, expansion 4, so 256 ... 2048 output
channels). The stride of a stage sits on the 3x3 convolution of its first block
("ResNet v1.5", as torchvision), and the projection shortcut is ``downsample.0`` (1x1 conv)
and ``downsample.1`` (BN). With ``last_stride=1`` the fourth stage keeps the resolution
(re-ID backbones: a 256x128 input gives a 16x8 map instead of 8x4).

Keys therefore match torchvision's checkpoint (``conv1.weight``, ``bn1.running_mean``,
``layer3.5.conv2.weight`` ``[256, 256, 3, 3]``, ``fc.weight`` ``[1000, 2048]``, ...), so an
ImageNet file saved from torchvision loads with :meth:`ResNet50.load_pretrained`.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import load_weights

STAGE_BLOCKS = (3, 4, 6, 3)
STAGE_WIDTHS = (64, 128, 256, 512)
EXPANSION = 4


class PretrainedWeightsError(ValueError):
    """A pretrained weights file is missing, unreadable or does not match the backbone."""


class Bottleneck(nn.Module):
    """1x1 (width) - 3x3 (width, ``stride``) - 1x1 (4 width), BN after each, ReLU after the sum."""

    def __init__(self, in_channels: int, width: int, stride: int):
        super().__init__()
        out_channels = width * EXPANSION
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample: Optional[nn.Sequential] = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNet50(nn.Module):
    """ResNet-50 feature extractor: ``[N, 3, H, W]`` to the stage-4 map ``[N, 2048, H/32, W/32]``
    (``H/16, W/16`` with ``last_stride=1``); :meth:`forward` adds pooling and ``fc`` when present.

    Args:
        last_stride: stride of the fourth stage, 2 (ImageNet) or 1 (re-ID).
        num_classes: size of the ``fc`` classifier, or None for a backbone without one.
    """

    def __init__(self, last_stride: int = 2, num_classes: Optional[int] = None):
        super().__init__()
        if last_stride not in (1, 2):
            raise ValueError(f"Expected `last_stride` 1 or 2, got {last_stride!r}")
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        in_channels = 64
        strides = (1, 2, 2, last_stride)
        for index, (blocks, width, stride) in enumerate(zip(STAGE_BLOCKS, STAGE_WIDTHS, strides), start=1):
            layer = []
            for b in range(blocks):
                layer.append(Bottleneck(in_channels, width, stride if b == 0 else 1))
                in_channels = width * EXPANSION
            setattr(self, f"layer{index}", nn.Sequential(*layer))
        self.out_channels = in_channels
        self.fc = nn.Linear(in_channels, num_classes) if num_classes is not None else None
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The stage-4 feature map ``[N, 2048, h, w]``."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), kernel_size=3, stride=2, padding=1)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return pooled if self.fc is None else self.fc(pooled)

    def backbone_state_dict(self) -> Dict[str, torch.Tensor]:
        """The state without ``fc.*``: what :meth:`load_pretrained` loads."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("fc.")}

    def load_pretrained(self, path: str) -> None:
        """Load the backbone from a local ``.pth`` (``torch.load(weights_only=True)``) or ``.safetensors``
        state dict, e.g. torchvision's ImageNet ResNet-50; a missing file is a ``CheckpointError``.

        ``fc.*`` entries of the file are ignored; every other key must match the backbone
        exactly, in name and shape, else :class:`PretrainedWeightsError` names the missing,
        unexpected or mis-shaped keys and the file.
        """
        state = load_weights(path)
        if state and all(k.startswith("module.") for k in state):  # saved from DataParallel
            state = {k[len("module."):]: v for k, v in state.items()}
        self.load_backbone_state(state, where=path)

    def load_backbone_state(self, state: Mapping[str, torch.Tensor], where: str = "state dict") -> None:
        """As :meth:`load_pretrained`, from a state dict in memory (``where`` is named in errors)."""
        given = {k: v for k, v in state.items() if not k.startswith("fc.")}
        own = self.backbone_state_dict()
        missing = sorted(set(own) - set(given))
        unexpected = sorted(set(given) - set(own))
        if missing or unexpected:
            raise PretrainedWeightsError(
                f"{where}: the weights do not match the ResNet-50 backbone (torchvision key names expected); "
                f"missing {len(missing)} keys {_some(missing)}, unexpected {len(unexpected)} keys {_some(unexpected)}")
        shapes = [f"{k} {list(given[k].shape)} (expected {list(v.shape)})" for k, v in own.items()
                  if tuple(given[k].shape) != tuple(v.shape)]
        if shapes:
            raise PretrainedWeightsError(f"{where}: {len(shapes)} tensors have the wrong shape: {_some(shapes)}")
        own_fc = {k: v for k, v in self.state_dict().items() if k.startswith("fc.")}
        self.load_state_dict({**given, **own_fc}, strict=True)


def _some(items, limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{', ...' if len(items) > limit else ''}]"
