"""The AM-LFS search space: ``theta = [a_t (M), b_t (M), a_tau (M), b_tau (M)]``.

Li et al., "AM-LFS: AutoML for Loss Function Search", ICCV 2019, Eq. 15-18: ``t`` is
piecewise linear on ``M`` equal intervals of the target cosine ``[-1, 1]`` and ``tau`` on
``M`` equal intervals of the target probability ``[0, 1]``. The layout and the interval
rule are fixed in ``docs/algorithm.md``.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Tuple

import torch

from .errors import LossInputError
from .finite import finite_floats


class ThetaParts(NamedTuple):
    """The four length-``M`` views of a ``theta`` vector."""

    a_t: torch.Tensor
    b_t: torch.Tensor
    a_tau: torch.Tensor
    b_tau: torch.Tensor


class SearchSpace:
    """Layout of ``theta`` for ``num_intervals`` (``M``) intervals; ``dim = 4 M``.

    Every returned ``theta`` is a float64 CPU tensor of shape ``[4 M]``; ``theta`` given
    to :meth:`check`, :meth:`values` or :meth:`split` may be a tensor on any device or a
    sequence of numbers.
    """

    def __init__(self, num_intervals: int = 6):
        if isinstance(num_intervals, bool) or not isinstance(num_intervals, int) or num_intervals < 1:
            raise LossInputError(f"Expected `num_intervals` to be an integer >= 1, got {num_intervals!r}")
        self.num_intervals = num_intervals

    @property
    def dim(self) -> int:
        """Length of ``theta``: ``4 M``."""
        return 4 * self.num_intervals

    def identity(self) -> torch.Tensor:
        """``[1]*M + [0]*M + [1]*M + [0]*M``: ``t(x) = x``, ``tau(p) = p``, plain softmax cross-entropy."""
        return self.cosine_margin(0.0)

    def cosine_margin(self, margin: float) -> torch.Tensor:
        """``t(x) = x - margin`` (margin in cosine units, not radians), ``tau`` the identity.

        The CosFace / AM-softmax point of the space (Wang et al. 2018).
        """
        margin = float(margin)
        if not math.isfinite(margin):
            raise LossInputError(f"Expected `margin` to be a finite number (cosine units), got {margin!r}")
        m = self.num_intervals
        return torch.tensor([1.0] * m + [-margin] * m + [1.0] * m + [0.0] * m, dtype=torch.float64)

    def values(self, theta) -> Tuple[float, ...]:
        """Validate ``theta`` (a 1-D tensor on any device, or a sequence): ``4 M`` finite numbers.

        Returns:
            the entries as a tuple of floats.

        Raises:
            LossInputError naming ``theta``, with the expected length or the bad index.
        """
        return finite_floats(theta, "theta", self.dim, f" (4 * M, M = {self.num_intervals})")

    def check(self, theta) -> torch.Tensor:
        """Validate ``theta`` as :meth:`values` does; return it as a float64 CPU tensor of shape ``[4 M]``."""
        return torch.tensor(self.values(theta), dtype=torch.float64)

    def split(self, theta) -> ThetaParts:
        """``(a_t, b_t, a_tau, b_tau)`` of a checked ``theta``, each float64 of shape ``[M]``."""
        tensor = self.check(theta)
        return ThetaParts(*tensor.view(4, self.num_intervals).unbind(0))

    def __repr__(self) -> str:
        return f"SearchSpace(num_intervals={self.num_intervals})"
