"""The SFT network (Luo et al., "Spectral Feature Transformation for Person Re-identification", ICCV 2019):
ResNet-50, GAP, a bottleneck FC - BN - PReLU - L2 and a cosine classifier, with the spectral feature
transformation during training, in one of two layouts (``sft_input``):

- ``"pooled"``, as the authors' code (LuckyDC/sft-reid ``train.py`` ``build_network``, its SFT block
  and classification branch): SFT mixes the 2048-d pooled
  features ``f``; with ``deep_supervision`` the bottleneck and the classifier see ``[f; SFT(f)]``
  (one batch of ``2 N`` rows, so one set of BN statistics) and each half is a softmax branch;
- ``"embedding"``, our earlier reading of the paper: SFT mixes the unit bottleneck embeddings.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .reid_layers import class_cosine, global_pool, init_embedding_layers
from .resnet50 import ResNet50

SFT_INPUTS = ("pooled", "embedding")
TEST_FEATURES = ("pooled", "embedding")


def spectral_feature_transform(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax_rows(n n^T / temperature) @ x`` for a batch ``x [N, D]``, ``n`` its L2-normalized rows
    (as LuckyDC/sft-reid: the affinity from the normalized features, applied to the features as given)."""
    unit = F.normalize(x, dim=1)
    return torch.softmax(unit @ unit.t() / temperature, dim=1) @ x


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
    """``supervised_branches(x) -> [(cosine [N, C], s), ...]`` (two with deep supervision, else one:
    the SFT branch); ``features(x) -> [N, D]`` unit rows, without SFT: the pooled 2048-d feature
    (``test_feature="pooled"``, LuckyDC/sft-reid ``utils/extract.py`` extracts ``flatten_output``)
    or the bottleneck embedding."""

    def __init__(self, num_classes: int, embedding_dim: int = 512, scale: float = 15.0, temperature: float = 0.1,
                 last_stride: int = 1, sft_input: str = "pooled", deep_supervision: bool = True,
                 test_feature: str = "pooled"):
        super().__init__()
        if sft_input not in SFT_INPUTS or test_feature not in TEST_FEATURES:
            raise ValueError(f"SftNet: expected sft_input and test_feature in {SFT_INPUTS}, got "
                             f"{sft_input!r} and {test_feature!r}")
        self.backbone = ResNet50(last_stride=last_stride)
        self.fc = nn.Linear(self.backbone.out_channels, embedding_dim, bias=False)  # a BN follows
        self.bn = nn.BatchNorm1d(embedding_dim)
        self.prelu = nn.PReLU(embedding_dim)
        self.sft = SpectralFeatureTransform(temperature)
        self.classifier = nn.Linear(embedding_dim, num_classes, bias=False)  # only its direction is used
        init_embedding_layers(self.fc, self.classifier)
        self.scale = float(scale)
        self.sft_input = sft_input
        self.deep_supervision = bool(deep_supervision)
        self.test_feature = test_feature

    def embed(self, pooled: torch.Tensor) -> torch.Tensor:
        """The unit bottleneck embedding ``[N, embedding_dim]`` (FC - BN - PReLU - L2) of pooled features."""
        return F.normalize(self.prelu(self.bn(self.fc(pooled))), dim=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        pooled = global_pool(self.backbone, x)
        return F.normalize(pooled, dim=1) if self.test_feature == "pooled" else self.embed(pooled)

    def supervised_branches(self, x: torch.Tensor) -> List[Tuple[torch.Tensor, float]]:
        """The AM-softmax inputs, SFT branch last: ``cosine [N, C]`` of embeddings and class weights, and ``s``."""
        pooled = global_pool(self.backbone, x)
        if self.sft_input == "embedding":
            embedding = self.embed(pooled)
            rows = [embedding, self.sft(embedding)] if self.deep_supervision else [self.sft(embedding)]
            return [(class_cosine(r, self.classifier), self.scale) for r in rows]
        if not self.deep_supervision:
            return [(class_cosine(self.embed(self.sft(pooled)), self.classifier), self.scale)]
        both = self.embed(torch.cat([pooled, self.sft(pooled)]))
        original, transformed = both.split(pooled.shape[0])
        return [(class_cosine(original, self.classifier), self.scale),
                (class_cosine(transformed, self.classifier), self.scale)]

    def branch(self, x: torch.Tensor):
        """The SFT branch alone (the last of :meth:`supervised_branches`)."""
        return self.supervised_branches(x)[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
