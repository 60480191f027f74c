"""The autograd kernel of the searched softmax loss, with a hand-written backward.

AM-LFS (Li et al., ICCV 2019, Eq. 15-16): ``f_j = s_j cos_j``, only the target logit is
transformed, ``f'_y = s_y t(cos_y)``, ``p = softmax(f')_y`` and ``L = -log tau(p)``. The
inputs are validated by :func:`amlfs.loss.searched_softmax.searched_softmax_loss`; this
module assumes them valid.

Layout of the computation, chosen to cost less than ``F.cross_entropy(s * cos, y)``:

- Forward makes one ``[N, C]`` buffer: the logits with the target column set to ``m``, the
  largest *other* logit, and its row softmax ``r``, in place. With ``e_j = exp(f_j - m)``
  and ``S = sum_{j != y} e_j`` (in ``[1, C)``), ``r_j = e_j / (S + 1)`` and the target
  column holds ``r_y = 1 / (S + 1)``, so ``log S = -logit(r_y)`` and
  ``log p = -log(1 + S e^-d) = logsigmoid(d - log S)``, ``d = f'_y - m``. This keeps full
  relative accuracy for ``p`` near 1 (where ``log(softmax)`` rounds to 0) and for
  ``p = 1e-300`` and below, and nothing underflows. The per-sample part (intervals, ``t``,
  ``log p``, ``tau``, ``c``) is float64 on ``N`` values; nothing ``[N, C]`` is float64. The
  ``[N, C]`` work is one multiply, one row max and one softmax (cross-entropy: a multiply
  and a log-softmax forward, three ``[N, C]`` passes backward).
- Backward scales that buffer in place into the gradient, one pass:
  ``dL/df_j = c q_j = c (1 - p) e_j / S = c (1 - p) r_j / (1 - r_y)`` for ``j != y``, then
  writes the target column, ``dL/df'_y = c (p - 1) = c expm1(log p)`` (``N`` values).

The buffer is consumed by the first backward. A second backward through the same graph
(``retain_graph=True``, ``gradcheck``) recomputes it from the saved ``cosine``; saving
``cosine`` is why the graph holds one ``[N, C]`` tensor more than ``F.cross_entropy``'s
when nothing else keeps ``cosine`` alive.
"""
from __future__ import annotations

from typing import NamedTuple, Union

import torch
from torch.autograd.function import once_differentiable

from .log_tau import LogTau, log_tau_of
from .piecewise_linear import evaluate_pieces
from .prepared_theta import PreparedTheta

REDUCTIONS = ("mean", "sum", "none")
T_SCALE_GRADS = ("plain", "full")


class Terms(NamedTuple):
    """Per-sample terms of the loss, float64 ``[N]`` unless noted."""

    log_p: torch.Tensor  # log of the target probability
    log_tau: LogTau  # log tau_eff(p), c, floored, tau interval
    t_interval: torch.Tensor  # int64, the interval of cos_y on [-1, 1]
    t_slope: torch.Tensor  # a_t of that interval: d t / d cos_y
    cos_y: torch.Tensor  # the target cosine
    t_y: torch.Tensor  # t(cos_y)
    s_y: Union[float, torch.Tensor]  # the target's scale
    r_y: torch.Tensor  # 1 / (S + 1), S the softmax mass of the other classes relative to their largest


def softmax_terms(cosine: torch.Tensor, scale, target: torch.Tensor, theta: PreparedTheta):
    """Forward computation: ``(r, terms)``, ``r`` the ``[N, C]`` buffer of the module docstring.

    Shapes and units as in :class:`SearchedSoftmaxFunction`.
    """
    column = target.unsqueeze(1)
    cos_y = cosine.gather(1, column).view(-1).to(torch.float64)
    if isinstance(scale, torch.Tensor):
        s_y = scale.expand_as(cosine).gather(1, column).view(-1).to(torch.float64)
    else:
        s_y = scale
    t_interval, t_slope, t_y = evaluate_pieces(cos_y, theta.t_table, -1.0, 1.0)

    r = (cosine * scale).contiguous()  # the in-place softmax needs row-major rows
    r.scatter_(1, column, float("-inf"))
    m = r.amax(1, keepdim=True)  # the largest other logit
    r.scatter_(1, column, m)
    r = _softmax_rows(r)
    r_y = r.gather(1, column).view(-1).to(torch.float64)  # 1 / (S + 1)
    # log p = logsigmoid(d - log S), d = f'_y - m, log S = -logit(r_y).
    w = torch.logit(r_y).sub_(m.view(-1))
    w = w.addcmul_(t_y, s_y) if isinstance(s_y, torch.Tensor) else w.add_(t_y, alpha=s_y)
    log_p = torch.nn.functional.logsigmoid(w)
    return r, Terms(log_p, log_tau_of(log_p, theta.tau), t_interval, t_slope, cos_y, t_y, s_y, r_y)


def _column(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return values.to(dtype).unsqueeze(1)


def _softmax_rows(logits: torch.Tensor) -> torch.Tensor:
    """Row softmax; in place on CPU (its kernel reads a row before writing it), a new tensor elsewhere."""
    if logits.device.type == "cpu":
        return torch._softmax(logits, 1, False, out=logits)
    return torch.softmax(logits, 1)


class SearchedSoftmaxFunction(torch.autograd.Function):
    """``apply(cosine, scale, target, theta, reduction, t_scale_grad, stats) -> loss``.

    Gradients for ``cosine`` and a tensor ``scale``.

    Args (all validated by the caller):
        cosine: ``[N, C]`` float32 or float64, ``C >= 2``.
        scale: a Python float, or a tensor of ``cosine``'s dtype and device broadcastable
            to ``[N, C]``.
        target: ``[N]`` int64 in ``[0, C)``, on ``cosine``'s device.
        theta: the :class:`PreparedTheta` of a validated ``theta``, on ``cosine``'s
            device. Gets no gradient.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        t_scale_grad: how a tensor ``scale`` gets its gradient through the target logit
            ``f'_y = s_y t(cos_y)``: ``"full"`` as written (``t(cos_y)``), ``"plain"`` as
            for the untransformed logit ``s_y cos_y``, so that a sampled ``t`` cannot be met
            by growing ``||W_y|| ||x||`` (docs/algorithm.md, "Space forms"). The value and
            every other gradient are the same.
        stats: a :class:`~amlfs.loss.stats.LossStats` that counts the examples, or None.

    Returns:
        the loss in ``cosine``'s dtype: a scalar, or ``[N]`` for ``"none"``.
    """

    @staticmethod
    def forward(ctx, cosine, scale, target, theta, reduction: str, t_scale_grad: str = "plain", stats=None):
        r, terms = softmax_terms(cosine, scale, target, theta)
        if stats is not None:
            stats.add(terms.log_tau.c, terms.log_tau.floored, terms.t_slope)
        loss = terms.log_tau.value
        if reduction == "mean":
            loss = loss.mean()
        elif reduction == "sum":
            loss = loss.sum()
        loss = loss.neg_().to(cosine.dtype)

        scale_is_tensor = isinstance(scale, torch.Tensor)
        if ctx.needs_input_grad[0] or (scale_is_tensor and ctx.needs_input_grad[1]):
            # Per unit of the incoming gradient: dL/df'_y = c (p - 1), dL/df_j = c (1 - p) r_j / (1 - r_y);
            # d f'_y / d cos_y = s_y a_t, d f'_y / d s_y = t(cos_y), d f_j / d cos_j = s_j.
            # Stored as [N, 1] columns in the dtype of cosine, ready for the backward.
            at_target = terms.log_tau.c * terms.log_p.expm1()
            per_sample = 1.0 / cosine.shape[0] if reduction == "mean" else 1.0
            at_target.mul_(per_sample if scale_is_tensor else per_sample * scale)
            other = at_target / (terms.r_y - 1.0)  # c (1 - p) / (1 - r_y), times s for a number scale
            if scale_is_tensor:
                ctx.target_cosine = _column((at_target * terms.t_slope).mul_(terms.s_y), cosine.dtype)
                through = terms.t_y if t_scale_grad == "full" else terms.cos_y
                ctx.target_scale = _column(at_target * through, cosine.dtype)
            else:
                ctx.target_cosine = _column(at_target * terms.t_slope, cosine.dtype)
            ctx.other = _column(other, cosine.dtype)
            ctx.buffer = r
            ctx.scale = None if scale_is_tensor else scale
            ctx.theta = theta
            ctx.save_for_backward(cosine, target, scale if scale_is_tensor else None)
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss):
        cosine, target, scale = ctx.saved_tensors
        buffer = ctx.buffer
        if buffer is None:  # a second backward through the same graph: recompute the softmax
            buffer, _ = softmax_terms(cosine, ctx.scale if scale is None else scale, target, ctx.theta)
        ctx.buffer = None
        column = target.unsqueeze(1)
        g = grad_loss if grad_loss.dtype == buffer.dtype else grad_loss.to(buffer.dtype)  # [] or [N] ("none")

        if g.dim():
            g = g.unsqueeze(1)
        if scale is None:
            grad_cosine = buffer.mul_(ctx.other * g)
            grad_cosine.scatter_(1, column, ctx.target_cosine * g)
            return grad_cosine, None, None, None, None, None, None

        grad_logits = buffer.mul_(ctx.other * g)  # dL/df_j for j != y
        grad_scale = grad_cosine = None
        if ctx.needs_input_grad[1]:
            grad_scale = grad_logits * cosine
            grad_scale.scatter_(1, column, ctx.target_scale * g)
            grad_scale = grad_scale.sum_to_size(scale.shape)
        if ctx.needs_input_grad[0]:
            grad_cosine = grad_logits.mul_(scale)
            grad_cosine.scatter_(1, column, ctx.target_cosine * g)
        return grad_cosine, grad_scale, None, None, None, None, None
