"""CosFace / large margin cosine loss (Wang et al., "CosFace", CVPR 2018, Eq. 4).

Features and class weights are L2-normalized; the logits are ``s (cos theta_y - m)`` for
the target and ``s cos theta_j`` otherwise, with ``s = 30`` and ``m = 0.40`` (the paper's
CASIA-WebFace setting; ``m`` in cosine units). It is the point ``t(x) = x - m`` of the
AM-LFS search space (``SearchSpace.cosine_margin(m)``).
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from .base import Head
from .checks import check_inputs, check_number, normalized_cosine

SCALE = 30.0
MARGIN_COS = 0.40


def cosface_logits(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                   scale: float = SCALE, margin_cos: float = MARGIN_COS) -> torch.Tensor:
    """``s (cos - m onehot(y))``, ``[N, C]``, from ``embedding [N, D]``, ``target [N]``, ``weight [C, D]``."""
    target = check_inputs(embedding, target, weight)
    scale = check_number("scale", scale, 0.0, low_open=True)
    margin_cos = check_number("margin_cos", margin_cos)
    cosine = normalized_cosine(embedding, weight)
    margin = F.one_hot(target, cosine.shape[1]).to(cosine.dtype) * margin_cos
    return scale * (cosine - margin)


def cosface_loss(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                 scale: float = SCALE, margin_cos: float = MARGIN_COS) -> torch.Tensor:
    """Mean cross-entropy of :func:`cosface_logits`."""
    return F.cross_entropy(cosface_logits(embedding, target, weight, scale, margin_cos), target.long())


class CosFaceHead(Head):
    """CosFace head: ``weight [C, D]``, scale ``s`` and margin ``m`` (cosine units)."""

    def __init__(self, embedding_dim: int, num_classes: int, scale: float = SCALE, margin_cos: float = MARGIN_COS):
        super().__init__(embedding_dim, num_classes)
        self.scale = check_number("scale", scale, 0.0, low_open=True)
        self.margin_cos = check_number("margin_cos", margin_cos)

    def loss_and_logits(self, embedding: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        logits = cosface_logits(embedding, target, self.weight, self.scale, self.margin_cos)
        return F.cross_entropy(logits, target.long()), logits

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scale={self.scale}, margin_cos={self.margin_cos}"
