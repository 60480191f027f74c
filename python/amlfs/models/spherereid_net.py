"""Network D of SphereReID (Fan et al., JVCIR 2019; arXiv 1807.00537): ResNet-50 with last stride 1,
then GAP - BN - Dropout - FC - BN, a sphere softmax on the normalized embedding."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .reid_layers import class_cosine, global_pool, init_embedding_layers
from .resnet50 import ResNet50


HEAD_INITS = ("coincheung", "ours")


def init_coincheung_head(fc: nn.Linear, classifier: nn.Linear) -> None:
    """CoinCheung/SphereReID@e02c7b9: ``kaiming_normal_(fc.weight, a=1)`` (fan-in, gain 1), zero bias
    (backbone.py:41-42); Xavier-normal class weights (sphere_loss.py:18; the same for ``[C, D]`` as for
    their ``[D, C]``)."""
    nn.init.kaiming_normal_(fc.weight, a=1)
    nn.init.zeros_(fc.bias)
    nn.init.xavier_normal_(classifier.weight, gain=1)


class SphereReIDNet(nn.Module):
    """Network D of SphereReID. ``branch(x) -> (cosine [N, C], s)``; ``features(x) -> [N, D]`` unit rows.
    ``head_init``: ``"coincheung"`` (:func:`init_coincheung_head`) or ``"ours"`` (:func:`init_embedding_layers`)."""

    def __init__(self, num_classes: int, embedding_dim: int = 1024, scale: float = 14.0, dropout: float = 0.5,
                 last_stride: int = 1, head_init: str = "ours"):
        super().__init__()
        self.backbone = ResNet50(last_stride=last_stride)
        channels = self.backbone.out_channels
        self.bn1 = nn.BatchNorm1d(channels)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, embedding_dim)
        self.bn2 = nn.BatchNorm1d(embedding_dim)
        self.classifier = nn.Linear(embedding_dim, num_classes, bias=False)  # only its direction is used
        if head_init not in HEAD_INITS:
            raise ValueError(f"SphereReIDNet: expected head_init in {HEAD_INITS}, got {head_init!r}")
        (init_coincheung_head if head_init == "coincheung" else init_embedding_layers)(self.fc, self.classifier)
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
