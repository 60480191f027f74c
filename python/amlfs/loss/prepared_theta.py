"""``theta`` turned into per-interval lookup tables, once per distinct ``theta`` and device.

The loss evaluates ``t`` and ``tau`` for every sample with one ``index_select`` on these
tables instead of many small tensor operations (their cost, not the arithmetic, dominates
the per-sample part of a batch). The logarithms of the positive ``tau`` pieces are taken
here, with ``math.log``, once.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple, Tuple, Union

import torch

TAU_FORMS = ("linear", "power")
"""``linear``: ``tau(p) = a_tau[i] p + b_tau[i]`` (Eq. 16 as written); ``power``: ``log tau`` linear in
``log p`` on each interval, ``tau(p) = K_i p^a_tau[i]``, continuous, ``tau(1) = 1`` (``b_tau`` unused)."""


class TauPieces(NamedTuple):
    """The ``M`` pieces of ``tau`` under the validity policy (``docs/algorithm.md``)."""

    table: torch.Tensor  # float64 [5, M]: a_tau, b_tau, log a_tau, log b_tau, positive (1.0 / 0.0)
    all_positive: bool  # every piece has a_tau > 0 and b_tau >= 0 (nothing can be floored)
    any_positive: bool


class PowerPieces(NamedTuple):
    """The ``M`` pieces of a ``power`` tau: ``log tau = F_i + a_i (log p - log u_i)`` on ``[l_i, u_i)``."""

    table: torch.Tensor  # float64 [3, M]: a_tau (the gradient factor c), F_i = log tau(u_i), log u_i


class PreparedTheta(NamedTuple):
    """Lookup tables of a validated ``theta`` on one device."""

    t_table: torch.Tensor  # float64 [2, M]: a_t, b_t
    tau: Union[TauPieces, PowerPieces]
    num_intervals: int


def tau_pieces(a_tau: Tuple[float, ...], b_tau: Tuple[float, ...], device: torch.device) -> TauPieces:
    """Tables of the ``tau`` pieces; on a piece that is not positive the logs are stored as 0 (unused)."""
    positive = [a > 0.0 and b >= 0.0 for a, b in zip(a_tau, b_tau)]
    log_a = [math.log(a) if pos else 0.0 for a, pos in zip(a_tau, positive)]
    log_b = [(math.log(b) if b > 0.0 else -math.inf) if pos else 0.0 for b, pos in zip(b_tau, positive)]
    rows = [list(a_tau), list(b_tau), log_a, log_b, [1.0 if pos else 0.0 for pos in positive]]
    table = torch.tensor(rows, dtype=torch.float64, device=device)
    return TauPieces(table, all(positive), any(positive))


def power_pieces(a_tau: Tuple[float, ...], device: torch.device) -> PowerPieces:
    """Tables of a ``power`` tau: upper ends ``u_i = (i + 1) / M``, ``F`` accumulated down from ``F_{M-1} = 0``."""
    m = len(a_tau)
    log_upper = [math.log((i + 1) / m) for i in range(m)]
    f_upper = [0.0] * m
    for i in range(m - 2, -1, -1):  # log tau(u_i) = log tau(u_{i+1}) - a_{i+1} (log u_{i+1} - log u_i)
        f_upper[i] = f_upper[i + 1] - a_tau[i + 1] * (log_upper[i + 1] - log_upper[i])
    table = torch.tensor([list(a_tau), f_upper, log_upper], dtype=torch.float64, device=device)
    return PowerPieces(table)


@functools.lru_cache(maxsize=64)
def prepare_theta(theta: Tuple[float, ...], device: torch.device, tau_form: str = "linear") -> PreparedTheta:
    """Tables of a validated ``theta`` (a tuple of ``4 M`` finite floats), cached per value, device and form."""
    m = len(theta) // 4
    t_table = torch.tensor([theta[:m], theta[m : 2 * m]], dtype=torch.float64, device=device)
    a_tau, b_tau = theta[2 * m : 3 * m], theta[3 * m :]
    tau = power_pieces(a_tau, device) if tau_form == "power" else tau_pieces(a_tau, b_tau, device)
    return PreparedTheta(t_table, tau, m)
