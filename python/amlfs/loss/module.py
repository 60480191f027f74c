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
    check_t_scale_grad,
    check_target,
)
from .log_tau import check_tau_form
from .stats import LossStats


class SearchedSoftmaxLoss(nn.Module):
    """AM-LFS searched softmax loss (Li et al., ICCV 2019) with its ``theta`` as a buffer.

    ``theta`` is a float64 buffer of shape ``[4 M]`` (it follows ``.to(device)`` and is in
    the ``state_dict``), the identity (plain cross-entropy) until :meth:`set_theta`, which
    validates it. ``forward(cosine [N, C], target [N], scale)`` is
    :func:`amlfs.searched_softmax_loss` with this ``theta``.

    Every call made with gradients enabled (training) is counted in :attr:`stats`
    (:class:`~amlfs.loss.stats.LossStats`: the share of examples floored or with a
    vanishing gradient factor); ``stats.reset()`` starts a new count.

    Args:
        num_intervals: ``M``, the number of intervals of ``t`` and ``tau``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        t_scale_grad: ``"plain"`` or ``"full"``, see :func:`amlfs.searched_softmax_loss`;
            settable later as an attribute.
        tau_form: ``"linear"`` or ``"power"``, likewise.
    """

    theta_buffer: torch.Tensor

    def __init__(
        self, num_intervals: int = 6, reduction: str = "mean", t_scale_grad: str = "plain", tau_form: str = "linear"
    ):
        super().__init__()
        self.space = SearchSpace(num_intervals)
        self.reduction = check_reduction(reduction)
        self.t_scale_grad = t_scale_grad
        self.tau_form = tau_form
        self.stats = LossStats()
        self.register_buffer("theta_buffer", self.space.identity())

    @property
    def t_scale_grad(self) -> str:
        return self._t_scale_grad

    @t_scale_grad.setter
    def t_scale_grad(self, value: str) -> None:
        self._t_scale_grad = check_t_scale_grad(value)

    @property
    def tau_form(self) -> str:
        return self._tau_form

    @tau_form.setter
    def tau_form(self, value: str) -> None:
        self._tau_form = check_tau_form(value)

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
        theta = prepare_theta(self.space.values(self.theta_buffer), cosine.device, self.tau_form)  # also after load_state_dict
        stats = self.stats if torch.is_grad_enabled() else None
        scale = check_scale(scale, cosine)
        return apply_checked(cosine, target, theta, scale, self.reduction, self.t_scale_grad, stats)

    def _apply(self, fn, recurse=True):
        # theta stays float64 when the module is cast (.half(), .to(torch.float32)); only
        # its device follows.
        theta = self.theta_buffer
        super()._apply(fn, recurse)
        self.theta_buffer = theta.to(device=self.theta_buffer.device, dtype=torch.float64)
        return self

    def extra_repr(self) -> str:
        return (
            f"num_intervals={self.space.num_intervals}, reduction={self.reduction!r}, "
            f"t_scale_grad={self.t_scale_grad!r}, tau_form={self.tau_form!r}"
        )
