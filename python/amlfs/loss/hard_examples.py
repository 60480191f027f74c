"""Online hard example mining over a batch's per-sample losses, as CoinCheung/SphereReID's
``OhemSphereLoss`` does it (``sphere_loss.py``): sort the per-sample losses in descending order
and average the first ``int(N * keep)``."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .errors import LossInputError


def hardest_mean(losses: torch.Tensor, keep: float) -> torch.Tensor:
    """The mean of the ``int(N * keep)`` largest of ``losses [N]``; the plain mean at ``keep == 1``."""
    if not 0 < keep <= 1:
        raise LossInputError(f"hardest_mean: expected keep in (0, 1], got {keep!r}")
    count = int(losses.shape[0] * keep)
    if count < 1:
        raise LossInputError(f"hardest_mean: keeping {keep} of {losses.shape[0]} samples keeps none")
    if keep == 1:
        return losses.mean()
    return torch.sort(losses, descending=True).values[:count].mean()


def hard_example_loss(loss_fn: nn.Module, cosine: torch.Tensor, target: torch.Tensor, scale: Any,
                      keep: float) -> torch.Tensor:
    """``loss_fn(cosine, target, scale)`` (a loss module with a ``reduction`` attribute, such as
    :class:`~amlfs.loss.SearchedSoftmaxLoss`) averaged over the hardest ``keep`` share of the batch.
    Every sample still passes through ``loss_fn`` (its statistics count them all)."""
    if keep == 1:
        return loss_fn(cosine, target, scale)
    previous = loss_fn.reduction
    loss_fn.reduction = "none"
    try:
        losses = loss_fn(cosine, target, scale)
    finally:
        loss_fn.reduction = previous
    return hardest_mean(losses, keep)
