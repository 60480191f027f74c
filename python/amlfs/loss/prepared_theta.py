"""``theta`` turned into per-interval lookup tables, once per distinct ``theta`` and device.

The loss evaluates ``t`` and ``tau`` for every sample with one ``index_select`` on these
tables instead of many small tensor operations (their cost, not the arithmetic, dominates
the per-sample part of a batch). The logarithms of the positive ``tau`` pieces are taken
here, with ``math.log``, once.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple, Tuple

import torch


class TauPieces(NamedTuple):
    """The ``M`` pieces of ``tau`` under the validity policy (``docs/algorithm.md``)."""

    table: torch.Tensor  # float64 [5, M]: a_tau, b_tau, log a_tau, log b_tau, positive (1.0 / 0.0)
    all_positive: bool  # every piece has a_tau > 0 and b_tau >= 0 (nothing can be floored)
    any_positive: bool


class PreparedTheta(NamedTuple):
    """Lookup tables of a validated ``theta`` on one device."""

    t_table: torch.Tensor  # float64 [2, M]: a_t, b_t
    tau: TauPieces
    num_intervals: int


def tau_pieces(a_tau: Tuple[float, ...], b_tau: Tuple[float, ...], device: torch.device) -> TauPieces:
    """Tables of the ``tau`` pieces; on a piece that is not positive the logs are stored as 0 (unused)."""
    positive = [a > 0.0 and b >= 0.0 for a, b in zip(a_tau, b_tau)]
    log_a = [math.log(a) if pos else 0.0 for a, pos in zip(a_tau, positive)]
    log_b = [(math.log(b) if b > 0.0 else -math.inf) if pos else 0.0 for b, pos in zip(b_tau, positive)]
    rows = [list(a_tau), list(b_tau), log_a, log_b, [1.0 if pos else 0.0 for pos in positive]]
    table = torch.tensor(rows, dtype=torch.float64, device=device)
    return TauPieces(table, all(positive), any(positive))


@functools.lru_cache(maxsize=64)
def prepare_theta(theta: Tuple[float, ...], device: torch.device) -> PreparedTheta:
    """Tables of a validated ``theta`` (a tuple of ``4 M`` finite floats), cached per value and device."""
    m = len(theta) // 4
    t_table = torch.tensor([theta[:m], theta[m : 2 * m]], dtype=torch.float64, device=device)
    return PreparedTheta(t_table, tau_pieces(theta[2 * m : 3 * m], theta[3 * m :], device), m)
