"""The SFT network (Luo et al., "Spectral Feature Transformation for Person Re-identification", ICCV 2019):
ResNet-50, GAP, FC - BN - PReLU - L2, and the spectral feature transformation during training."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .reid_layers import class_cosine, global_pool, init_embedding_layers
from .resnet50 import ResNet50


def spectral_feature_transform(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax_rows(x x^T / temperature) @ x`` for a batch ``x`` of ``[N, D]`` (unit rows); ``[N, D]``."""
    return torch.softmax(x @ x.t() / temperature, dim=1) @ x


class SpectralFeatureTransform(nn.Module):
    """:func:`spectral_feature_transform` in training mode, the identity in evaluation mode."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spectral_feature_transform(x, self.temperature) if self.training else x

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class SftNet(nn.Module):
    """``branch(x) -> (cosine [N, C], s)`` through the SFT layer; ``features(x) -> [N, D]`` unit rows, no SFT."""

    def __init__(self, num_classes: int, embedding_dim: int = 512, scale: float = 15.0, temperature: float = 0.1,
                 last_stride: int = 1):
        super().__init__()
        self.backbone = ResNet50(last_stride=last_stride)
        self.fc = nn.Linear(self.backbone.out_channels, embedding_dim)
        self.bn = nn.BatchNorm1d(embedding_dim)
        self.prelu = nn.PReLU(embedding_dim)
        self.sft = SpectralFeatureTransform(temperature)
        self.classifier = nn.Linear(embedding_dim, num_classes, bias=False)  # only its direction is used
        init_embedding_layers(self.fc, self.classifier)
        self.scale = float(scale)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The unit embedding ``[N, embedding_dim]`` (FC - BN - PReLU - L2), without the SFT layer."""
        return F.normalize(self.prelu(self.bn(self.fc(global_pool(self.backbone, x)))), dim=1)

    def branch(self, x: torch.Tensor):
        """AM-softmax inputs: ``cosine [N, C]`` of the SFT-transformed embeddings and class weights, and ``s``."""
        return class_cosine(self.sft(self.features(x)), self.classifier), self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
