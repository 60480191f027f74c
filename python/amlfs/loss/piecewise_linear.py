"""Piecewise-linear functions on ``M`` equal intervals (AM-LFS, Li et al. ICCV 2019, Eq. 15-16).

The searched ``t`` (on the target cosine, domain ``[-1, 1]``) and ``tau`` (on the target
probability, domain ``[0, 1]``) are both of this form; ``docs/algorithm.md`` fixes the
interval rule so that the TypeScript and Python sides pick the same interval for every
float64 input.
"""
from __future__ import annotations

import math
from typing import Sequence, Union

import torch

from .errors import LossInputError
from .finite import finite_floats

Numbers = Union[torch.Tensor, Sequence[float]]


def interval_index(x: torch.Tensor, lo: float, hi: float, num_intervals: int) -> torch.Tensor:
    """Interval of each entry of ``x``: ``clamp(floor(((x - lo) / (hi - lo)) * M), 0, M - 1)``.

    The argument of ``floor`` is computed in float64 in exactly that order (for ``[-1, 1]``
    it is ``((x + 1) / 2) * M``), with two shortcuts that change no bit: the no-op ``- 0``
    is skipped, and when ``hi - lo`` is a power of two ``(v / (hi - lo)) * M`` is computed
    as ``v * (M / (hi - lo))`` (dividing by a power of two is exact). Edges belong to the
    interval on their right, the right end of the domain to the last interval; values
    outside the domain get the end interval. The clamp is applied before truncating to an
    integer, which gives the same index as ``clamp(floor(v))`` for every ``v`` (truncation
    and ``floor`` agree on ``[0, M - 1]``). A NaN gets interval 0 (its value stays NaN).

    Args:
        x: any shape, any floating dtype.
        lo, hi: the domain, ``lo < hi``.
        num_intervals: ``M >= 1``.

    Returns:
        int64 tensor of the shape of ``x``, on its device.
    """
    v = x if x.dtype == torch.float64 else x.to(torch.float64)
    width = hi - lo
    if lo != 0.0:
        v = v - lo
    if math.frexp(width)[0] == 0.5:  # a power of two
        v = v * (num_intervals / width)
    else:
        v = (v / width).mul_(num_intervals)
    return v.clamp_(0, num_intervals - 1).nan_to_num_(0.0).long()  # v is a new tensor: x is untouched


def evaluate_pieces(
    x: torch.Tensor, table: torch.Tensor, lo: float, hi: float
) -> "tuple[torch.Tensor, torch.Tensor, torch.Tensor]":
    """Unchecked core of :func:`piecewise_linear` on a 1-D ``x``: ``(interval, slope, value)``.

    ``table`` is float64 ``[2, M]`` (slopes, biases) on ``x``'s device; the slope of each
    entry's piece and the value ``slope * x + bias`` are float64. Used by the loss, which
    validates its inputs once.
    """
    index = interval_index(x, lo, hi, table.shape[1])
    slope, bias = table.index_select(1, index).unbind(0)
    return index, slope, (slope * x).add_(bias)


def piecewise_linear(x: Numbers, slopes: Numbers, biases: Numbers, lo: float, hi: float) -> torch.Tensor:
    """Evaluate ``slopes[i] * x + biases[i]`` with ``i`` the interval of ``x`` on ``[lo, hi]``.

    ``M = len(slopes)`` equal intervals; the interval rule is :func:`interval_index`. ``x``
    itself is never clamped: outside ``[lo, hi]`` the end piece is extrapolated. For the
    searched ``t`` use ``lo, hi = -1, 1``; for ``tau`` use ``0, 1``.

    Args:
        x: tensor (any shape, floating) or a number / sequence; must be finite.
        slopes, biases: length ``M`` (tensor on any device, or a sequence), finite.
        lo, hi: the domain, finite with ``lo < hi``.

    Returns:
        float64 tensor of ``x``'s shape on ``x``'s device. The result is always float64:
        this is the per-sample scalar part of the loss, computed in float64 whatever the
        input dtype (``docs/algorithm.md``), and a float32 ``x`` is represented exactly.

    Raises:
        LossInputError naming ``x``, ``slopes``, ``biases`` or ``lo``/``hi``.
    """
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.to(torch.float64)
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        where = tuple((~finite).nonzero()[0].tolist())
        raise LossInputError(f"Expected `x` to be finite, got {float(x[where])} at index {where}")
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise LossInputError(f"Expected finite `lo` < `hi`, got lo={lo}, hi={hi}")
    a = finite_floats(slopes, "slopes")
    b = finite_floats(biases, "biases", len(a), " (len(slopes))")
    table = torch.tensor([a, b], dtype=torch.float64, device=x.device)
    return evaluate_pieces(x.reshape(-1), table, lo, hi)[2].reshape(x.shape)
