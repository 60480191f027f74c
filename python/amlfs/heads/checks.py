"""Input checks and the normalized cosine shared by every head."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .errors import HeadError

NORM_EPS = 1e-12


def check_inputs(embedding, target, weight) -> torch.Tensor:
    """Validate ``embedding [N, D]``, ``target [N]`` and ``weight [C, D]``; return ``target`` as int64.

    ``embedding`` and ``weight`` must be floating tensors of the same dtype and device,
    ``N >= 1``, ``C >= 2``, and every ``target`` entry in ``[0, C)`` (one host sync).

    Raises:
        HeadError naming ``embedding``, ``weight`` or ``target``.
    """
    for name, value in (("embedding", embedding), ("weight", weight)):
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            got = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
            raise HeadError(f"Expected `{name}` to be a floating torch.Tensor, got {got}")
    if embedding.dim() != 2 or embedding.shape[0] < 1:
        raise HeadError(f"Expected `embedding` to have shape [N, D] with N >= 1, got {list(embedding.shape)}")
    n, d = embedding.shape
    if weight.dim() != 2 or weight.shape[1] != d or weight.shape[0] < 2:
        raise HeadError(f"Expected `weight` to have shape [C, D] = [C, {d}] (D from `embedding`) with C >= 2, "
                        f"got {list(weight.shape)}")
    if weight.dtype != embedding.dtype or weight.device != embedding.device:
        raise HeadError(f"Expected `weight` with the dtype and device of `embedding` ({embedding.dtype}, "
                        f"{embedding.device}), got {weight.dtype}, {weight.device}")
    if not isinstance(target, torch.Tensor) or target.is_floating_point() or target.is_complex() \
            or target.dtype == torch.bool:
        got = target.dtype if isinstance(target, torch.Tensor) else type(target).__name__
        raise HeadError(f"Expected `target` to be an integer torch.Tensor of shape [{n}], got {got}")
    if target.shape != (n,):
        raise HeadError(f"Expected `target` to have shape [N] = [{n}] (N from `embedding`), got {list(target.shape)}")
    if target.device != embedding.device:
        raise HeadError(f"Expected `target` on the device of `embedding` ({embedding.device}), got {target.device}")
    c = weight.shape[0]
    low, high = (int(v) for v in torch.aminmax(target))
    if low < 0 or high >= c:
        bad = low if low < 0 else high
        index = int((target == bad).nonzero()[0, 0])
        raise HeadError(f"Expected `target` entries in [0, C) = [0, {c}) (C from `weight`), got {bad} at index {index}")
    return target.long()


def check_number(name: str, value, low: float = -math.inf, low_open: bool = False) -> float:
    """``value`` as a finite float ``>= low`` (``> low`` when ``low_open``), else a HeadError naming ``name``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value > low if low_open else value >= low
    if not ok:
        bound = "" if low == -math.inf else f" {'>' if low_open else '>='} {low}"
        raise HeadError(f"Expected `{name}` to be a finite number{bound}, got {value!r}")
    return float(value)


def normalized_cosine(embedding: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``cos_j = <x / ||x||, W_j / ||W_j||>``, ``[N, C]``; a zero row gives 0 rather than NaN."""
    return F.normalize(embedding, dim=1, eps=NORM_EPS) @ F.normalize(weight, dim=1, eps=NORM_EPS).t()


def head_weight(num_classes: int, embedding_dim: int) -> torch.nn.Parameter:
    """A ``[C, D]`` weight, Caffe's ``xavier`` init (uniform, ``a = sqrt(3 / D)``) as the SphereFace model."""
    for name, value, least in (("num_classes", num_classes, 2), ("embedding_dim", embedding_dim, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise HeadError(f"Expected `{name}` to be an integer >= {least}, got {value!r}")
    bound = math.sqrt(3.0 / embedding_dim)
    return torch.nn.Parameter(torch.empty(num_classes, embedding_dim).uniform_(-bound, bound))
