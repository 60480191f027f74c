"""Plain softmax cross-entropy on ``x W^T`` (the unmodified softmax branch).

No bias: the face heads that replace it (A-softmax, CosFace, ArcFace) have none, and
AM-LFS sees a bias-free linear classifier as ``s_j cos_j`` with ``s_j = ||x|| ||W_j||``
(``amlfs.baselines.linear_head``); a bias would not fit that form.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from .base import Head
from .checks import check_inputs


def softmax_logits(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x W^T``: ``embedding [N, D]``, ``weight [C, D]`` -> ``[N, C]``. ``target [N]`` is only validated."""
    check_inputs(embedding, target, weight)
    return embedding @ weight.t()


def softmax_loss(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of :func:`softmax_logits`; HeadError on bad shapes, dtypes or targets."""
    return F.cross_entropy(softmax_logits(embedding, target, weight), target.long())


class SoftmaxHead(Head):
    """Softmax cross-entropy with a bias-free ``weight [C, D]``."""

    def loss_and_logits(self, embedding: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        logits = softmax_logits(embedding, target, self.weight)
        return F.cross_entropy(logits, target.long()), logits
