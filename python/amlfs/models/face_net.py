"""A face embedding network with its classification head (:class:`amlfs.heads.Head`)."""
from __future__ import annotations

import torch
from torch import nn

from ..heads.base import Head


class FaceNet(nn.Module):
    """The embedding network and its head: ``embed(x) -> [N, D]``, ``head`` owning ``weight [C, D]``."""

    def __init__(self, trunk: nn.Module, head: Head):
        super().__init__()
        self.trunk = trunk
        self.head = head

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)
