"""A drop-in replacement for ``nn.CrossEntropyLoss`` after a linear classifier: the AM-LFS searched loss.

AM-LFS (Li et al., ICCV 2019, Eq. 15-17) transforms the target logit of a classifier
written as ``f_j = s_j * cos(theta_j)``; for a plain linear head ``s_j = ||W_j|| * ||x||``
(docs/design.md, The algorithm). A training script computes
``criterion(model(images), labels)`` and never sees ``x``, so :class:`SearchedCrossEntropyLoss` takes the head itself and
records the head's input with a forward hook; it is then called exactly as the
cross-entropy it replaces. With the identity ``theta`` it equals
``F.cross_entropy(logits, labels)`` for any logits.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
from torch import nn

from .linear_head import linear_cosine_and_scale
from .module import SearchedSoftmaxLoss
from .stats import LossStats

Theta = Union[Sequence[float], torch.Tensor]


class SearchedCrossEntropyLoss(nn.Module):
    """``criterion(logits [N, C], target [N])``: the searched softmax loss on the logits of ``head``.

    Args:
        head: the ``nn.Linear(D, C)`` whose output are the logits. Its bias, if any, is
            folded in as one more feature: ``W x + b = [W, b] . [x, 1]``, so ``cosine``
            and ``scale`` are those of ``[x, 1]`` and ``[W_j, b_j]`` and the logits are
            unchanged (documented in docs/plug-in.md).
        num_intervals: ``M``; :meth:`set_theta` with a ``theta`` of another length
            ``4 M'`` switches to ``M'``.

    The logits passed in must be the last output of ``head`` (the tensor it returned,
    untouched); anything else raises ``ValueError``, since the matching input is
    needed. :attr:`mean_loss` is the mean of the losses computed since
    :meth:`reset_stats` (one host sync, when read); :attr:`stats` counts, over the same
    calls (those with gradients enabled), how the loss acted on the examples.
    """

    def __init__(self, head: nn.Linear, num_intervals: int = 6):
        super().__init__()
        if not isinstance(head, nn.Linear):
            raise TypeError(f"Expected `head` to be the torch.nn.Linear that outputs the logits, got {type(head).__name__}")
        self.searched = SearchedSoftmaxLoss(num_intervals)
        self._head = [head]  # a list: the head stays out of this module's parameters and state_dict
        self._last: Optional[tuple] = None  # (input [N, D], output [N, C]) of the head's last forward
        self._hook = head.register_forward_hook(self._record)
        self.reset_stats()

    @property
    def head(self) -> nn.Linear:
        return self._head[0]

    @property
    def theta(self) -> torch.Tensor:
        return self.searched.theta

    @property
    def t_scale_grad(self) -> str:
        """``"plain"`` or ``"full"``: see :func:`amlfs.searched_softmax_loss`."""
        return self.searched.t_scale_grad

    @t_scale_grad.setter
    def t_scale_grad(self, value: str) -> None:
        self.searched.t_scale_grad = value

    @property
    def tau_form(self) -> str:
        """``"linear"`` or ``"power"``: see :func:`amlfs.searched_softmax_loss`."""
        return self.searched.tau_form

    @tau_form.setter
    def tau_form(self, value: str) -> None:
        self.searched.tau_form = value

    def set_theta(self, theta: Theta) -> None:
        """Use ``theta = [a_t (M), b_t (M), a_tau (M), b_tau (M)]`` (``4 M`` finite numbers) from now on."""
        size = len(theta)
        if size == 0 or size % 4 != 0:
            raise ValueError(f"Expected `theta` to have 4 M entries (M >= 1), got {size}")
        if size != 4 * self.searched.space.num_intervals:
            old = self.searched
            self.searched = SearchedSoftmaxLoss(
                size // 4, reduction=old.reduction, t_scale_grad=old.t_scale_grad, tau_form=old.tau_form
            )
        self.searched.set_theta(theta)

    @property
    def stats(self) -> LossStats:
        """The inner :class:`SearchedSoftmaxLoss`'s :class:`~amlfs.loss.LossStats`: examples floored,
        with a vanishing gradient factor, mean factors (``summary()``; reset by :meth:`reset_stats`)."""
        return self.searched.stats

    def reset_stats(self) -> None:
        """Start a new epoch's count: :attr:`mean_loss` and :attr:`stats`."""
        self._loss_sum: Union[float, torch.Tensor] = 0.0
        self._batches = 0
        self.searched.stats.reset()

    @property
    def mean_loss(self) -> float:
        """Mean batch loss since :meth:`reset_stats`; NaN before the first batch."""
        if self._batches == 0:
            return math.nan
        return float(self._loss_sum) / self._batches

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self._last is None or logits is not self._last[1]:
            raise ValueError("Expected `logits` to be the output of the head's last forward, as the head returned it "
                             "(the loss needs the head's input too): call the loss on the model's output, once per forward")
        features = self._last[0]
        self._last = None  # one loss per forward; also frees the activations
        cosine, scale = linear_cosine_and_scale(logits, features, self.head.weight, self.head.bias)
        loss = self.searched(cosine, target, scale)
        self._loss_sum = self._loss_sum + loss.detach()
        self._batches += 1
        return loss

    def remove(self) -> None:
        """Detach from the head (removes the forward hook)."""
        self._hook.remove()

    def _record(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        self._last = (inputs[0], output)
