"""The AM-LFS searched head (Li et al., ICCV 2019, Eq. 15-16) in place of a margin softmax.

Features and class weights are L2-normalized, ``cos_j`` goes to the searched loss
(:func:`amlfs.searched_softmax_loss`) with a fixed scale ``s`` (30, as CosFace), and
``theta`` decides the loss: the identity is the normalized softmax on ``s cos``, and
``SearchSpace(M).cosine_margin(0.40)`` is exactly CosFace.

The logits returned beside the loss are ``s cos_j`` with the target entry
``s t(cos_y)``: the transformed logits ``f'`` of the paper. ``tau`` acts on the target
probability after the softmax, so it is not in the logits: the loss equals
cross-entropy of these logits only when ``tau`` is the identity.
"""
from __future__ import annotations

from typing import Tuple

import torch

from ..loss import SearchedSoftmaxLoss, SearchSpace, piecewise_linear, searched_softmax_loss
from .base import Head
from .checks import check_inputs, check_number, normalized_cosine

SCALE = 30.0


def searched_logits(cosine: torch.Tensor, target: torch.Tensor, theta, scale: float,
                    num_intervals: int) -> torch.Tensor:
    """``f' [N, C]``: ``s cos_j``, target entry ``s t(cos_y)`` (``t`` from ``theta``, float64 inside)."""
    a_t, b_t, _, _ = SearchSpace(num_intervals).split(theta)
    index = target.unsqueeze(1)
    t_y = piecewise_linear(cosine.gather(1, index), a_t, b_t, -1.0, 1.0).to(cosine.dtype)
    return scale * cosine.scatter(1, index, t_y)


def searched_head_loss(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, theta,
                       scale: float = SCALE) -> torch.Tensor:
    """Searched loss (mean) of the normalized cosines of ``embedding [N, D]`` and ``weight [C, D]``.

    ``theta``: ``[4 M]`` (see :class:`amlfs.SearchSpace`); errors in it are ``LossInputError``.
    """
    target = check_inputs(embedding, target, weight)
    scale = check_number("scale", scale, 0.0, low_open=True)
    return searched_softmax_loss(normalized_cosine(embedding, weight), target, theta, scale)


class SearchedHead(Head):
    """Normalized ``weight [C, D]`` and features, scale ``s``, and a :class:`SearchedSoftmaxLoss` holding ``theta``.

    ``theta`` starts at the identity; :meth:`set_theta` sets a sampled one (validated).
    """

    def __init__(self, embedding_dim: int, num_classes: int, scale: float = SCALE, num_intervals: int = 6):
        super().__init__(embedding_dim, num_classes)
        self.scale = check_number("scale", scale, 0.0, low_open=True)
        self.loss = SearchedSoftmaxLoss(num_intervals)

    @property
    def theta(self) -> torch.Tensor:
        return self.loss.theta

    def set_theta(self, theta) -> None:
        self.loss.set_theta(theta)

    def loss_and_logits(self, embedding: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        target = check_inputs(embedding, target, self.weight)
        cosine = normalized_cosine(embedding, self.weight)
        logits = searched_logits(cosine, target, self.loss.theta_buffer, self.scale, self.loss.space.num_intervals)
        return self.loss(cosine, target, self.scale), logits

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scale={self.scale}"
