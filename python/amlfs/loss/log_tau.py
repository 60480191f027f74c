"""The effective ``log tau(p)`` of the validity policy (``docs/algorithm.md``).

AM-LFS (Li et al., ICCV 2019, Eq. 16) trains with ``L = -log tau(p)`` where ``tau`` is
piecewise linear in the target probability ``p``. Sampled ``tau`` can be non-positive, so
the policy, identical on the TypeScript side and in ``tools/make_vectors.py``, is:

- a *positive piece* (``a > 0`` and ``b >= 0``) is computed in the log domain and never
  floored: ``log tau = logaddexp(log a + log p, log b)`` with ``log 0 = -inf``;
- any other piece computes ``tau = a p + b`` directly and is *floored* iff
  ``tau < TAU_FLOOR``: ``log tau = log(max(tau, TAU_FLOOR))``, with zero gradient there.

``c = a p / tau`` is the factor of the gradient, ``dL/df'_j = c (q_j - [j = y])``; on a
positive piece it is computed as ``exp(log a + log p - log tau)``.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .errors import LossInputError
from .finite import finite_floats
from .piecewise_linear import interval_index
from .prepared_theta import TAU_FORMS, PowerPieces, TauPieces, power_pieces, tau_pieces

TAU_FLOOR = 1e-6
"""Smallest ``tau`` a non-positive piece may take; the floored loss is ``-log(1e-6) = 13.8155...``."""


class LogTau(NamedTuple):
    """Per-sample result of :func:`effective_log_tau`; every field has the shape of ``log_p``."""

    value: torch.Tensor  # float64, log tau_eff(p)
    c: torch.Tensor  # float64, a p / tau(p), 0 where floored
    floored: torch.Tensor  # bool
    interval: torch.Tensor  # int64, the interval of p on [0, 1]


def log_tau_pieces(log_p: torch.Tensor, pieces: TauPieces) -> LogTau:
    """Unchecked core of :func:`effective_log_tau`: ``log_p`` 1-D float64 on the device of ``pieces``."""
    p = log_p.exp()
    index = interval_index(p, 0.0, 1.0, pieces.table.shape[1])
    a, b, log_a, log_b, positive = pieces.table.index_select(1, index).unbind(0)
    if pieces.all_positive:  # the log domain only; nothing can be floored
        log_a_p = log_a.add_(log_p)
        value = torch.logaddexp(log_a_p, log_b)
        return LogTau(value, log_a_p.sub_(value).exp_(), torch.zeros_like(index, dtype=torch.bool), index)
    a_p = a.mul_(p)
    tau = b.add_(a_p)
    floored = tau < TAU_FLOOR
    c = a_p.div_(tau).masked_fill_(floored, 0.0)
    value = tau.clamp_min_(TAU_FLOOR).log_()
    if not pieces.any_positive:
        return LogTau(value, c, floored, index)
    positive = positive > 0.0
    log_a_p = log_a.add_(log_p)
    value = torch.where(positive, torch.logaddexp(log_a_p, log_b), value)
    c = torch.where(positive, log_a_p.sub_(value).exp_(), c)
    return LogTau(value, c, floored > positive, index)  # below the floor and not positive


def log_tau_power(log_p: torch.Tensor, pieces: PowerPieces) -> LogTau:
    """``log tau`` of a ``power`` tau: ``F_i + a_i (log p - log u_i)``, so ``c = d log tau / d log p = a_i``.

    Computed from ``log p`` alone, so nothing underflows and nothing is floored.
    """
    index = interval_index(log_p.exp(), 0.0, 1.0, pieces.table.shape[1])
    a, f_upper, log_upper = pieces.table.index_select(1, index).unbind(0)
    value = (log_p - log_upper).mul_(a).add_(f_upper)
    return LogTau(value, a, torch.zeros_like(index, dtype=torch.bool), index)


def log_tau_of(log_p: torch.Tensor, pieces) -> LogTau:
    """``log tau`` for either form of tau, by the type of ``pieces``."""
    if isinstance(pieces, PowerPieces):
        return log_tau_power(log_p, pieces)
    return log_tau_pieces(log_p, pieces)


def check_tau_form(tau_form) -> str:
    if tau_form not in TAU_FORMS:
        raise LossInputError(f"Expected `tau_form` to be one of {', '.join(map(repr, TAU_FORMS))}, got {tau_form!r}")
    return tau_form


def effective_log_tau(log_p, a_tau, b_tau, tau_form: str = "linear") -> LogTau:
    """``log tau_eff(p)`` and the gradient factor ``c`` under the validity policy.

    Args:
        log_p: the log of the target probability (a tensor of any shape, or numbers),
            finite; taking ``log p`` rather than ``p`` keeps ``p = 1e-300`` and below exact.
            The interval is chosen with ``p = exp(log p)`` in float64.
        a_tau, b_tau: slopes and biases of ``tau``, length ``M`` each, finite.
        tau_form: ``"linear"`` (Eq. 16 as written) or ``"power"`` (``log tau`` linear in
            ``log p`` on each interval with slope ``a_tau[i]``, continuous, ``tau(1) = 1``;
            ``b_tau`` is unused): docs/algorithm.md, "Space forms".

    Returns:
        :class:`LogTau` of float64 / bool / int64 tensors of ``log_p``'s shape.

    Raises:
        LossInputError naming ``log_p``, ``a_tau``, ``b_tau`` or ``tau_form``.
    """
    check_tau_form(tau_form)
    log_p = torch.as_tensor(log_p, dtype=torch.float64)
    finite = torch.isfinite(log_p)
    if not bool(finite.all()):
        where = tuple((~finite).nonzero()[0].tolist())
        raise LossInputError(f"Expected `log_p` to be finite, got {float(log_p[where])} at index {where}")
    a = finite_floats(a_tau, "a_tau")
    b = finite_floats(b_tau, "b_tau", len(a), " (len(a_tau))")
    pieces = power_pieces(a, log_p.device) if tau_form == "power" else tau_pieces(a, b, log_p.device)
    out = log_tau_of(log_p.reshape(-1), pieces)
    return LogTau(*(field.reshape(log_p.shape) for field in out))
