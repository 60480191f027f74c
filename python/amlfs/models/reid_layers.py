"""Pieces the re-ID networks with a cosine classifier share (``SphereReIDNet``, ``SftNet``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .resnet50 import ResNet50


def global_pool(backbone: ResNet50, x: torch.Tensor) -> torch.Tensor:
    """The backbone's feature map of ``x [N, 3, H, W]``, average-pooled: ``[N, channels]``."""
    return F.adaptive_avg_pool2d(backbone.features(x), 1).flatten(1)


def init_embedding_layers(fc: nn.Linear, classifier: nn.Linear) -> None:
    """Kaiming (fan-out) weights and zero bias (if any) for the embedding ``fc``; N(0, 0.01) class weights."""
    nn.init.kaiming_normal_(fc.weight, mode="fan_out")
    if fc.bias is not None:
        nn.init.zeros_(fc.bias)
    nn.init.normal_(classifier.weight, std=0.01)


def class_cosine(embedding: torch.Tensor, classifier: nn.Linear) -> torch.Tensor:
    """``cos_j [N, C]`` between each row of ``embedding [N, D]`` and each class weight ``[C, D]``
    (only the classifier's direction is used)."""
    return F.normalize(embedding, dim=1) @ F.normalize(classifier.weight, dim=1).t()
