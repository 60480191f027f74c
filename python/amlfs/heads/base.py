"""``Head``: the ``nn.Module`` shape every head shares (a ``[C, D]`` weight, loss and logits)."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from .checks import head_weight


class Head(nn.Module):
    """A classification head owning ``weight [C, D]`` (no bias).

    ``forward(embedding [N, D], target [N]) -> loss`` (mean over the batch, a 0-d tensor);
    :meth:`loss_and_logits` returns the logits ``[N, C]`` the loss was computed from too.
    Subclasses implement :meth:`loss_and_logits`.
    """

    def __init__(self, embedding_dim: int, num_classes: int):
        super().__init__()
        self.weight = head_weight(num_classes, embedding_dim)

    @property
    def num_classes(self) -> int:
        return self.weight.shape[0]

    @property
    def embedding_dim(self) -> int:
        return self.weight.shape[1]

    def loss_and_logits(self, embedding: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(self, embedding: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_and_logits(embedding, target)[0]

    def extra_repr(self) -> str:
        return f"embedding_dim={self.embedding_dim}, num_classes={self.num_classes}"
