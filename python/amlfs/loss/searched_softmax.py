"""The searched softmax loss of AM-LFS as a function (Li et al., ICCV 2019, Eq. 15-16).

``L = -log tau(p)``, ``p = softmax(f')_y``, ``f_j = s_j cos_j``, ``f'_y = s_y t(cos_y)``,
with ``t`` and ``tau`` the piecewise-linear functions of ``theta`` and the validity policy
of ``docs/algorithm.md``. This module validates the inputs and calls the autograd kernel
in :mod:`amlfs.loss.searched_softmax_function`.
"""
from __future__ import annotations

import math
from typing import Optional, Union

import torch

from .errors import LossInputError
from .log_tau import check_tau_form
from .prepared_theta import PreparedTheta, prepare_theta
from .search_space import SearchSpace
from .searched_softmax_function import REDUCTIONS, T_SCALE_GRADS, SearchedSoftmaxFunction, Terms, softmax_terms

Scale = Union[float, torch.Tensor]


def searched_softmax_loss(
    cosine: torch.Tensor,
    target: torch.Tensor,
    theta,
    scale: Scale,
    reduction: str = "mean",
    *,
    num_intervals: Optional[int] = None,
    t_scale_grad: str = "plain",
    tau_form: str = "linear",
) -> torch.Tensor:
    """Searched softmax loss of AM-LFS; the identity ``theta`` gives ``F.cross_entropy(scale * cosine, target)``.

    Args:
        cosine: ``[N, C]`` cosines between features and class weights (normally in
            ``[-1, 1]``; values outside are extrapolated, not clamped). float32 or float64
            (float16 / bfloat16 are computed in float32), CPU or CUDA.
        target: ``[N]`` integer class indices in ``[0, C)``.
        theta: ``[4 M]`` ``[a_t, b_t, a_tau, b_tau]`` (tensor on any device, or a sequence),
            finite. It gets no gradient.
        scale: ``s``, a number (normalized softmax) or a tensor broadcastable to ``[N, C]``
            (``||W_j|| ||x||`` for a plain linear classifier; it gets a gradient when it
            requires one, summed over the broadcast dimensions). A tensor is cast to the
            dtype of ``cosine``; it must be on ``cosine``'s device.
        reduction: ``"mean"`` (over samples), ``"sum"`` or ``"none"`` (``[N]``).
        num_intervals: ``M``; when given, ``theta`` must have ``4 M`` entries, otherwise
            ``M = len(theta) / 4``.
        t_scale_grad: with a tensor ``scale``, how it gets its gradient through the target
            logit ``f'_y = s_y t(cos_y)``: ``"plain"`` (default) as for ``s_y cos_y``, so a
            sampled ``t`` cannot be met by growing the scale of an unnormalized head;
            ``"full"`` through ``t(cos_y)``, the paper read literally. The value, and every
            gradient under the identity ``theta``, are the same either way.
        tau_form: ``"linear"`` (default): ``tau(p) = a_tau[i] p + b_tau[i]`` as in Eq. 16;
            ``"power"``: ``log tau`` is linear in ``log p`` on each interval with slope
            ``a_tau[i]``, continuous, ``tau(1) = 1`` (``tau(p) = K_i p^a_tau[i]``), so the
            gradient factor is ``c = a_tau[i]`` and nothing is floored; ``b_tau`` is unused.
            The identity ``theta`` is cross-entropy in both forms.

    Returns:
        The loss in the dtype of ``cosine`` (float32 for 16-bit inputs).

    Raises:
        LossInputError (a ``ValueError``) naming ``cosine``, ``target``, ``theta``, ``scale``,
        ``reduction``, ``num_intervals``, ``t_scale_grad`` or ``tau_form``.

    The backward is hand-written (``docs/algorithm.md``); double backward
    (``create_graph=True``) is not supported and raises.
    """
    cosine = check_cosine(cosine)
    target = check_target(target, cosine)
    theta = check_theta(theta, cosine.device, num_intervals, tau_form)
    scale = check_scale(scale, cosine)
    return apply_checked(cosine, target, theta, scale, check_reduction(reduction), check_t_scale_grad(t_scale_grad))


def searched_softmax_terms(
    cosine: torch.Tensor,
    target: torch.Tensor,
    theta,
    scale: Scale,
    *,
    num_intervals: Optional[int] = None,
    tau_form: str = "linear",
) -> Terms:
    """The per-sample terms behind :func:`searched_softmax_loss`, without gradient.

    Same arguments and errors as :func:`searched_softmax_loss`. Returns a ``Terms`` of
    ``[N]`` tensors (float64 unless noted): ``log_p`` (log of the target probability),
    ``log_tau`` (a ``LogTau``: ``value`` = ``log tau_eff(p)`` = minus the per-sample loss,
    ``c``, ``floored`` (bool), ``interval`` of ``p`` (int64)), ``t_interval`` (int64),
    ``t_slope`` (``a_t`` there), ``t_y`` (``t(cos_y)``) and ``s_y`` (the target's scale, a
    number when ``scale`` is one). Useful to see how much of a batch a ``theta`` floors.
    """
    cosine = check_cosine(cosine)
    target = check_target(target, cosine)
    theta = check_theta(theta, cosine.device, num_intervals, tau_form)
    with torch.no_grad():
        return softmax_terms(cosine, check_scale(scale, cosine), target, theta)[1]


def apply_checked(
    cosine: torch.Tensor,
    target: torch.Tensor,
    theta: PreparedTheta,
    scale: Scale,
    reduction: str,
    t_scale_grad: str = "plain",
    stats=None,
):
    """Run the kernel on inputs that passed the ``check_*`` functions of this module."""
    return SearchedSoftmaxFunction.apply(cosine, scale, target, theta, reduction, t_scale_grad, stats)


def check_t_scale_grad(t_scale_grad) -> str:
    if t_scale_grad not in T_SCALE_GRADS:
        raise LossInputError(
            f"Expected `t_scale_grad` to be one of {', '.join(map(repr, T_SCALE_GRADS))}, got {t_scale_grad!r}"
        )
    return t_scale_grad


def check_reduction(reduction) -> str:
    if reduction not in REDUCTIONS:
        raise LossInputError(f"Expected `reduction` to be one of {', '.join(map(repr, REDUCTIONS))}, got {reduction!r}")
    return reduction


def check_cosine(cosine) -> torch.Tensor:
    """``cosine`` as a float32/float64 ``[N, C]`` tensor, ``N >= 1``, ``C >= 2`` (16-bit floats become float32)."""
    if not isinstance(cosine, torch.Tensor):
        raise LossInputError(f"Expected `cosine` to be a torch.Tensor of shape [N, C], got {type(cosine).__name__}")
    if cosine.dim() != 2 or cosine.shape[0] < 1 or cosine.shape[1] < 2:
        raise LossInputError(f"Expected `cosine` to have shape [N, C] with N >= 1 and C >= 2, got {list(cosine.shape)}")
    if cosine.dtype in (torch.float16, torch.bfloat16):
        return cosine.float()
    if cosine.dtype not in (torch.float32, torch.float64):
        raise LossInputError(f"Expected `cosine` to be a floating tensor (float32 or float64), got {cosine.dtype}")
    return cosine


def check_target(target, cosine: torch.Tensor) -> torch.Tensor:
    """``target`` as int64 ``[N]`` on ``cosine``'s device, every entry in ``[0, C)`` (one host sync)."""
    n, c = cosine.shape
    if not isinstance(target, torch.Tensor):
        raise LossInputError(f"Expected `target` to be a torch.Tensor of shape [{n}], got {type(target).__name__}")
    if target.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise LossInputError(f"Expected `target` to be an integer tensor (int64), got {target.dtype}")
    if target.shape != (n,):
        raise LossInputError(f"Expected `target` to have shape [N] = [{n}] (N from `cosine`), got {list(target.shape)}")
    if target.device != cosine.device:
        raise LossInputError(f"Expected `target` on the device of `cosine` ({cosine.device}), got {target.device}")
    low, high = (int(v) for v in torch.aminmax(target))
    if low < 0 or high >= c:
        bad = low if low < 0 else high
        index = int((target == bad).nonzero()[0, 0])
        raise LossInputError(f"Expected `target` entries in [0, C) = [0, {c}), got {bad} at index {index}")
    return target.long()


def check_theta(
    theta, device: torch.device, num_intervals: Optional[int] = None, tau_form: str = "linear"
) -> PreparedTheta:
    """Validate ``theta`` (``4 M`` finite numbers; a tensor on any device, or a sequence), prepare it on ``device``."""
    if num_intervals is None:
        size = theta.numel() if isinstance(theta, torch.Tensor) else len(theta)
        if size == 0 or size % 4:
            raise LossInputError(f"Expected `theta` to have 4 * M entries (M >= 1), got {size}")
        num_intervals = size // 4
    return prepare_theta(SearchSpace(num_intervals).values(theta), device, check_tau_form(tau_form))


def check_scale(scale, cosine: torch.Tensor) -> Scale:
    """A finite number as a float, or a tensor broadcastable to ``cosine``'s ``[N, C]`` in its dtype."""
    n, c = cosine.shape
    if isinstance(scale, torch.Tensor):
        if not scale.is_floating_point():
            raise LossInputError(f"Expected `scale` to be a floating tensor, got {scale.dtype}")
        if scale.device != cosine.device:
            raise LossInputError(f"Expected `scale` on the device of `cosine` ({cosine.device}), got {scale.device}")
        try:
            shape = torch.broadcast_shapes(scale.shape, cosine.shape)
        except RuntimeError:
            shape = None
        if scale.dim() > 2 or shape != cosine.shape:
            raise LossInputError(
                f"Expected `scale` to be broadcastable to [N, C] = [{n}, {c}] ([], [1], [{n}, 1], [1, {c}] or "
                f"[{n}, {c}]), got {list(scale.shape)}"
            )
        return scale.to(cosine.dtype)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise LossInputError(f"Expected `scale` to be a finite number or a tensor, got {scale!r}")
    return float(scale)
