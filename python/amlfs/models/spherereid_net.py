"""Network D of SphereReID (Fan et al., JVCIR 2019; arXiv 1807.00537): ResNet-50 with last stride 1,
then GAP - BN - Dropout - FC - BN, a sphere softmax on the normalized embedding."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .reid_layers import class_cosine, global_pool, init_embedding_layers
from .resnet50 import ResNet50


class SphereReIDNet(nn.Module):
    """Network D of SphereReID. ``branch(x) -> (cosine [N, C], s)``; ``features(x) -> [N, D]`` unit rows."""

    def __init__(self, num_classes: int, embedding_dim: int = 1024, scale: float = 14.0, dropout: float = 0.5,
                 last_stride: int = 1):
        super().__init__()
        self.backbone = ResNet50(last_stride=last_stride)
        channels = self.backbone.out_channels
        self.bn1 = nn.BatchNorm1d(channels)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, embedding_dim)
        self.bn2 = nn.BatchNorm1d(embedding_dim)
        self.classifier = nn.Linear(embedding_dim, num_classes, bias=False)  # only its direction is used
        init_embedding_layers(self.fc, self.classifier)
        self.scale = float(scale)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding before normalization, ``[N, embedding_dim]``."""
        return self.bn2(self.fc(self.dropout(self.bn1(global_pool(self.backbone, x)))))

    def branch(self, x: torch.Tensor):
        """Sphere softmax inputs: ``cosine [N, C]`` of normalized embeddings and class weights, and ``s``."""
        return class_cosine(self.embed(x), self.classifier), self.scale

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(x), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
