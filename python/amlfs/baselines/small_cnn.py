"""``small-cnn``: a small CNN for 8x8 digits (the demo and CI baseline).

conv 3x3 (C->16) - ReLU - conv 3x3 (16->32) - ReLU - max-pool to 4x4 - FC (512->64) -
ReLU - bias-free FC (64->10), the softmax branch. SGD lr 0.05, momentum 0.9, weight decay
5e-4, batch 64, cosine LR over ``search.epochs``.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from ..data import load_dataset
from .classification import ClassificationRecipe, sgd_config
from .options import (fractions_list, non_negative_number, one_of, parse_options, positive_int, positive_number,
                      sourced_table)
from .registry import register_baseline

OPTIONS = sourced_table({
    "batchSize": positive_int(64),
    "lr": positive_number(0.05),
    "momentum": non_negative_number(0.9),
    "weightDecay": non_negative_number(5e-4),
    "schedule": one_of("cosine", ("cosine", "step", "none")),
    "milestones": fractions_list((0.5, 0.75)),
    "evalBatchSize": positive_int(1024),
}, "ours: the demo's small CNN (no paper baseline)")


class SmallCNN(nn.Module):
    """Input ``[N, C, H, W]`` (8x8 digits; larger inputs are max-pooled to 4x4); logits ``[N, classes]``."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, hidden: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveMaxPool2d(4),
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, hidden),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(hidden, num_classes, bias=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register_baseline("small-cnn", datasets=("digits", "cifar10-bin"), recipe=ClassificationRecipe, options=OPTIONS)
def build_small_cnn(experiment: Mapping[str, Any], device: torch.device) -> ClassificationRecipe:
    options = parse_options("small-cnn", experiment["baseline"].get("options", {}), OPTIONS)
    config = sgd_config(options, experiment["search"]["epochs"])
    data = load_dataset(experiment["dataset"])
    return ClassificationRecipe(data, lambda c, k: SmallCNN(c, k), config, device, experiment.get("seed", 0))
