"""``SearchedSoftmaxLoss``: the searched loss as an ``nn.Module`` holding ``theta``."""
from __future__ import annotations

import torch
from torch import nn

from .prepared_theta import prepare_theta
from .search_space import SearchSpace
from .searched_softmax import (
    Scale,
    apply_checked,
    check_cosine,
    check_reduction,
    check_scale,
    check_target,
)


class SearchedSoftmaxLoss(nn.Module):
    """AM-LFS searched softmax loss (Li et al., ICCV 2019) with its ``theta`` as a buffer.

    ``theta`` is a float64 buffer of shape ``[4 M]`` (it follows ``.to(device)`` and is in
    the ``state_dict``), the identity (plain cross-entropy) until :meth:`set_theta`, which
    validates it. ``forward(cosine [N, C], target [N], scale)`` is
    :func:`amlfs.searched_softmax_loss` with this ``theta``.

    Args:
        num_intervals: ``M``, the number of intervals of ``t`` and ``tau``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    theta_buffer: torch.Tensor

    def __init__(self, num_intervals: int = 6, reduction: str = "mean"):
        super().__init__()
        self.space = SearchSpace(num_intervals)
        self.reduction = check_reduction(reduction)
        self.register_buffer("theta_buffer", self.space.identity())

    @property
    def theta(self) -> torch.Tensor:
        """The current ``theta`` (a detached float64 copy of the buffer)."""
        return self.theta_buffer.detach().clone()

    def set_theta(self, theta) -> None:
        """Validate ``theta`` (``4 M`` finite numbers, any device) and store it on the buffer's device."""
        checked = self.space.check(theta)
        with torch.no_grad():
            self.theta_buffer.copy_(checked)

    def forward(self, cosine: torch.Tensor, target: torch.Tensor, scale: Scale) -> torch.Tensor:
        """The loss of ``cosine [N, C]``, ``target [N]`` and ``scale``; see :func:`amlfs.searched_softmax_loss`."""
        cosine = check_cosine(cosine)
        target = check_target(target, cosine)
        theta = prepare_theta(self.space.values(self.theta_buffer), cosine.device)  # also after load_state_dict
        return apply_checked(cosine, target, theta, check_scale(scale, cosine), check_reduction(self.reduction))

    def _apply(self, fn, recurse=True):
        # theta stays float64 when the module is cast (.half(), .to(torch.float32)); only
        # its device follows.
        theta = self.theta_buffer
        super()._apply(fn, recurse)
        self.theta_buffer = theta.to(device=self.theta_buffer.device, dtype=torch.float64)
        return self

    def extra_repr(self) -> str:
        return f"num_intervals={self.space.num_intervals}, reduction={self.reduction!r}"
