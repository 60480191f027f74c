"""``resnet20``: the CIFAR ResNet-20 of He et al., "Deep Residual Learning" (CVPR 2016, Sec. 4.2).

Model: 3x3 conv (16) - BN - ReLU, then 3 stages of 3 basic blocks with 16, 32, 64
channels (stride 2 entering stages 2 and 3), option A shortcuts (identity; when the
shape changes, subsample by 2 and zero-pad the new channels, so no parameters), global
average pooling, and an FC (64 -> 10, with a bias when ``headBias``): the softmax branch the
searched loss replaces (``cosine_and_scale`` of the FC, its bias included, so the identity
``theta`` is cross-entropy on its logits). Kaiming-normal initialization of convolutions and the FC.

Recipe presets (``recipe``; every value and its source in ``docs/baselines.md``), both SGD lr 0.1,
momentum 0.9, weight decay 1e-4, batch 128, 4-pixel zero padding, random 32x32 crop, horizontal
flip, the LR times 0.1 at 50 % and 75 % of ``search.epochs``:

- ``upstream`` (default), akamaster/pytorch_resnet_cifar10 (``trainer.py``, ``resnet.py``): 200
  epochs with steps at 100 and 150 (``search.epochs: 200``), ImageNet normalization statistics,
  the FC with a bias.
- ``paper``, He et al. 2016 Sec. 4.2: 64k iterations with steps at 32k and 48k, i.e. 164 epochs of
  391 iterations with steps at 82 and 123 (``search.epochs: 164``); per-channel CIFAR-10 statistics
  (the paper subtracts the per-pixel mean), a bias-free FC (the port before the presets).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..data import load_dataset
from ..loss.linear_head import cosine_and_scale
from .classification import ClassificationRecipe, sgd_config
from .errors import BaselineError
from .options import (Presets, boolean, fractions_list, non_negative_number, one_of, parse_options, positive_int,
                      positive_number, sourced)
from .registry import register_baseline

AKA = "akamaster/pytorch_resnet_cifar10 "
HE = "He et al. 2016 Sec. 4.2"
#: ``normalization`` -> per-channel (mean, std) of [0, 1] pixels; "cifar10": the data set's own statistics.
IMAGENET_STATS = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
NORMALIZATIONS = ("imagenet", "cifar10")

PRESETS = Presets(
    default="upstream",
    overrides={"paper": {"normalization": "cifar10", "headBias": False}},
    sources={"paper": {
        "normalization": "ours: " + HE + " subtracts the per-pixel mean; the per-channel CIFAR-10 mean and std "
                         "here (conv1 is followed by BN)",
        "headBias": "ours: " + HE + " names a 10-way FC without saying whether it has a bias (unverified); "
                    "bias-free as the port before the presets",
    }},
)
SOURCES = {
    "batchSize": AKA + "trainer.py --batch-size 128; " + HE + ": mini-batch 128",
    "lr": AKA + "trainer.py --lr 0.1; " + HE + ": lr 0.1",
    "momentum": AKA + "trainer.py --momentum 0.9; " + HE + ": momentum 0.9",
    "weightDecay": AKA + "trainer.py --weight-decay 1e-4; " + HE + ": weight decay 0.0001",
    "milestones": AKA + "trainer.py MultiStepLR(milestones=[100, 150]) of --epochs 200; " + HE + ": 32k and 48k "
                  "of 64k iterations (epochs 82 and 123 of 164); fractions of search.epochs",
    "gamma": AKA + "trainer.py MultiStepLR (gamma 0.1); " + HE + ": divided by 10",
    "augment": AKA + "trainer.py RandomHorizontalFlip, RandomCrop(32, 4); " + HE + ": 4-pixel padding, "
               "32x32 crop, flip",
    "normalization": AKA + "trainer.py Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])",
    "headBias": AKA + "resnet.py nn.Linear(64, num_classes) (with a bias; version with "
                "compressible_linear read, unverified at a fixed commit)",
    "evalBatchSize": "ours: evaluation batch size (does not change the result)",
    "depth": AKA + "resnet.py resnet20 = ResNet(BasicBlock, [3, 3, 3]); " + HE + ": 6n + 2 with n = 3",
}
OPTIONS = {
    "recipe": sourced(PRESETS.option(), "upstream: " + AKA + "(trainer.py read at 159915c, resnet.py at 1877b67); "
                      "paper: " + HE),
    **{name: sourced(option, SOURCES[name]) for name, option in {
        "batchSize": positive_int(128),
        "lr": positive_number(0.1),
        "momentum": non_negative_number(0.9),
        "weightDecay": non_negative_number(1e-4),
        "milestones": fractions_list((0.5, 0.75)),
        "gamma": positive_number(0.1),
        "augment": boolean(True),
        "normalization": one_of("imagenet", NORMALIZATIONS),
        "headBias": boolean(True),
        "evalBatchSize": positive_int(1000),
        "depth": positive_int(20),
    }.items()},
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

    def __init__(self, depth: int = 20, in_channels: int = 3, num_classes: int = 10, head_bias: bool = False):
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
        self.classifier = nn.Linear(64, num_classes, bias=head_bias)
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

    def branch(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The FC as a softmax branch: ``cosine_and_scale`` of the features and ``[W, b]`` (``b`` when ``headBias``)."""
        return cosine_and_scale(self.features(x), self.classifier.weight, bias=self.classifier.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def normalized_data(data, normalization: str):
    """``data`` with the per-channel statistics ``normalization`` names (:data:`NORMALIZATIONS`)."""
    if normalization == "cifar10":
        return data
    mean, std = IMAGENET_STATS
    return dataclasses.replace(data, mean=mean, std=std)



#: Where this port still differs from the authors' code or the paper (rendered into docs/baselines.md).
DIFFERENCES = (
    "The paper's per-pixel mean subtraction is not implemented (preset `paper` uses per-channel statistics).",
    "akamaster's weight initialisation and head bias are read from its code, not verified at a fixed commit.",
)

@register_baseline("resnet20", datasets=("cifar10-bin",), recipe=ClassificationRecipe, options=OPTIONS,
                   presets=PRESETS)
def build_resnet20(experiment: Mapping[str, Any], device: torch.device) -> ClassificationRecipe:
    options = parse_options("resnet20", experiment["baseline"].get("options", {}), OPTIONS, PRESETS)
    depth = options["depth"]
    if (depth - 2) % 6:
        raise BaselineError(f"`baseline.options.depth`: expected 6 n + 2 (20, 32, 44, 56, 110), got {depth}")
    augment = bool(options["augment"])
    config = sgd_config(options, experiment["search"]["epochs"], schedule="step", gamma=float(options["gamma"]),
                        crop_padding=4 if augment else 0, flip=augment)
    data = normalized_data(load_dataset(experiment["dataset"]), options["normalization"])
    head_bias = bool(options["headBias"])
    return ClassificationRecipe(data, lambda c, k: CifarResNet(depth, c, k, head_bias), config, device,
                                experiment.get("seed", 0))
