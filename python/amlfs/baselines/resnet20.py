"""``resnet20``: the CIFAR ResNet-20 of He et al., "Deep Residual Learning" (CVPR 2016, Sec. 4.2).

Model: 3x3 conv (16) - BN - ReLU, then 3 stages of 3 basic blocks with 16, 32, 64
channels (stride 2 entering stages 2 and 3), option A shortcuts (identity; when the
shape changes, subsample by 2 and zero-pad the new channels, so no parameters), global
average pooling, and a bias-free FC (64 -> 10): the softmax branch the searched loss
replaces. Kaiming-normal initialization of convolutions and the FC.

Recipe (paper): SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch 128; 4-pixel zero
padding, random 32x32 crop, horizontal flip; per-channel normalization. The paper
divides the LR by 10 at 32k and 48k iterations and stops at 64k, i.e. at 50 % and 75 %
of training; here the milestones are those fractions of ``search.epochs``
(164 epochs of 391 iterations = 64k; milestones at epochs 82 and 123).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..data import load_dataset
from .classification import ClassificationRecipe, sgd_config
from .options import boolean, fractions_list, non_negative_number, parse_options, positive_int, positive_number
from .registry import register_baseline

OPTIONS = {
    "batchSize": positive_int(128),
    "lr": positive_number(0.1),
    "momentum": non_negative_number(0.9),
    "weightDecay": non_negative_number(1e-4),
    "milestones": fractions_list((0.5, 0.75)),
    "gamma": positive_number(0.1),
    "augment": boolean(True),
    "evalBatchSize": positive_int(1000),
    "depth": positive_int(20),
}


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes - in_planes
        self.stride = stride

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """Option A: identity, or subsample and zero-pad the added channels (half on each side)."""
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR ResNet of depth ``6 n + 2`` (20: n = 3). Input ``[N, C, 32, 32]``; logits ``[N, classes]``."""

    def __init__(self, depth: int = 20, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"Expected a depth of 6 n + 2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(64, num_classes, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        return F.adaptive_avg_pool2d(out, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register_baseline("resnet20", datasets=("cifar10-bin",), recipe=ClassificationRecipe, options=OPTIONS)
def build_resnet20(experiment: Mapping[str, Any], device: torch.device) -> ClassificationRecipe:
    options = parse_options("resnet20", experiment["baseline"].get("options", {}), OPTIONS)
    depth = options["depth"]
    if (depth - 2) % 6:
        from .errors import BaselineError

        raise BaselineError(f"`baseline.options.depth`: expected 6 n + 2 (20, 32, 44, 56, 110), got {depth}")
    augment = bool(options["augment"])
    config = sgd_config(options, experiment["search"]["epochs"], schedule="step", gamma=float(options["gamma"]),
                        crop_padding=4 if augment else 0, flip=augment)
    data = load_dataset(experiment["dataset"])
    return ClassificationRecipe(data, lambda c, k: CifarResNet(depth, c, k), config, device, experiment.get("seed", 0))
