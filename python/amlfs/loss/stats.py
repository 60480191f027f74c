"""How a searched loss acted on the examples it trained on: floored, dead, gradient factors.

AM-LFS (Li et al., ICCV 2019, Eq. 15) scales cross-entropy's gradient on the logits by
``c = a_tau p / tau(p)`` (zero where ``tau`` is floored), and the target cosine's gradient
by ``a_t``, the slope of ``t`` at ``cos_y``. A sampled loss whose ``c`` or ``a_t`` is near
zero on most examples trains nothing. :class:`LossStats` counts this per example, on the
device, without a host sync per call; :meth:`LossStats.summary` reads it once.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch

DEAD_FACTOR = 0.01
"""An example is *dead* for ``tau`` when ``c < 0.01``, for ``t`` when ``a_t < 0.01``."""

FIELDS = ("examples", "flooredShare", "deadShare", "meanC", "tDeadShare", "meanTSlope")


class LossStats:
    """Running sums over the examples the loss saw since the last :meth:`reset`.

    ``add`` takes the per-example float64 ``c`` (0 where floored), ``floored`` (bool) and
    ``t_slope`` (``a_t`` at ``cos_y``), all ``[N]``, on any one device.
    """

    def __init__(self) -> None:
        self._sums: Optional[torch.Tensor] = None  # float64 [6]: n, floored, dead, sum c, t dead, sum a_t

    def reset(self) -> None:
        self._sums = None

    def add(self, c: torch.Tensor, floored: torch.Tensor, t_slope: torch.Tensor) -> None:
        row = torch.stack(
            (
                c.new_tensor(float(c.numel())),
                floored.sum(dtype=torch.float64),
                (c < DEAD_FACTOR).sum(dtype=torch.float64),
                c.sum(),
                (t_slope < DEAD_FACTOR).sum(dtype=torch.float64),
                t_slope.sum(),
            )
        )
        if self._sums is None or self._sums.device != row.device:
            self._sums = row if self._sums is None else self._sums.to(row.device) + row
        else:
            self._sums += row

    def totals(self) -> torch.Tensor:
        """The running sums, float64 ``[6]``: examples, floored, dead, sum of ``c``, ``t`` dead,
        sum of ``a_t`` (zeros on the CPU before any example). A copy."""
        if self._sums is None:
            return torch.zeros(len(FIELDS), dtype=torch.float64)
        return self._sums.clone()

    def set_totals(self, totals: torch.Tensor) -> None:
        """Replace the running sums with ``totals`` (float64 ``[6]``, as :meth:`totals` gives them),
        e.g. their sum over the ranks of a process group."""
        if totals.shape != (len(FIELDS),):
            raise ValueError(f"Expected `totals` of shape [{len(FIELDS)}], got {list(totals.shape)}")
        self._sums = totals.detach().to(torch.float64).clone()

    def summary(self) -> Optional[Dict[str, float]]:
        """``{examples, flooredShare, deadShare, meanC, tDeadShare, meanTSlope}``; None before any example."""
        if self._sums is None:
            return None
        n, floored, dead, sum_c, t_dead, sum_slope = (float(v) for v in self._sums.cpu())
        if n == 0:
            return None
        return {
            "examples": int(n),
            "flooredShare": floored / n,
            "deadShare": dead / n,
            "meanC": sum_c / n,
            "tDeadShare": t_dead / n,
            "meanTSlope": sum_slope / n,
        }
