"""Validation of small coefficient vectors (``theta`` and its parts) on the host."""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from .errors import LossInputError


def finite_floats(values, name: str, length: Optional[int] = None, length_note: str = "") -> Tuple[float, ...]:
    """``values`` (a 1-D tensor on any device, or a sequence of numbers) as a tuple of finite floats.

    Raises:
        LossInputError naming ``name``: not 1-D, empty, of a length other than ``length``
        (``length_note`` explains it), or with a non-finite entry (its index is given).
    """
    if isinstance(values, torch.Tensor):
        if values.dim() != 1:
            raise LossInputError(f"Expected `{name}` to be 1-D, got shape {list(values.shape)}")
        floats = values.detach().to(torch.float64).tolist()
    else:
        try:
            floats = [float(v) for v in values]
        except (TypeError, ValueError) as error:
            raise LossInputError(f"Expected `{name}` to be a sequence of numbers, got {values!r}") from error
    if length is not None and len(floats) != length:
        raise LossInputError(f"Expected `{name}` to have shape [{length}]{length_note}, got shape [{len(floats)}]")
    if not floats:
        raise LossInputError(f"Expected `{name}` to be non-empty, got shape [0]")
    for index, value in enumerate(floats):
        if not math.isfinite(value):
            raise LossInputError(f"Expected `{name}` to be finite, got {value} at index {index}")
    return tuple(floats)
