"""Start-of-training inputs of the searched loss: cosines, targets and scale, random (seeded) or given.

Random (:func:`random_start`): features ``x [N, D]`` and class weights ``W [C, D]`` with
i.i.d. ``N(0, 1/D)`` entries (Kaiming-normal, fan-in ``D``, gain 1), so ``||x||`` and
``||W_j||`` are about 1; targets uniform in ``[0, C)``. A normalized head gets
``cos_j = x.W_j / (||x|| ||W_j||)`` (random unit vectors: ``cos`` is about ``N(0, 1/D)``)
and the fixed scale ``s``; a plain linear head (``scale = "linear"``) gets
``amlfs.baselines.cosine_and_scale(x, W)``, i.e. the same cosines and the tensor scale
``s_j = ||x|| ||W_j||`` (about 1). Everything is float64, drawn from one
``torch.Generator`` seeded with ``seed`` (x, then W, then the targets).

Given (:func:`given_start`): ``{"cosine": [[...]] (N x C), "target": [...] (N), "scale":
number or nested list broadcastable to [N, C]}``.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Union

import torch

from ..baselines.linear_head import cosine_and_scale
from ..loss.searched_softmax import check_cosine, check_scale, check_target
from .errors import InspectError
from .setting import LINEAR, Scale


class StartInputs(NamedTuple):
    """``cosine [N, C]`` float64, ``target [N]`` int64, ``scale`` a float or a float64 tensor broadcastable to ``[N, C]``."""

    cosine: torch.Tensor
    target: torch.Tensor
    scale: Union[float, torch.Tensor]


def random_start(classes: int, scale: Scale, examples: int, dim: int, seed: int) -> StartInputs:
    """Seeded random start-of-training inputs (see the module docstring); ``scale`` a number > 0 or ``"linear"``."""
    for name, value, least in (("classes", classes, 2), ("examples", examples, 1), ("dim", dim, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InspectError(f"`{name}`: expected an integer >= {least}, got {value!r}")
    if scale != LINEAR and not _positive_number(scale):
        raise InspectError(f"`scale`: expected a number > 0 or {LINEAR!r}, got {scale!r}")
    generator = torch.Generator().manual_seed(seed)
    std = 1.0 / math.sqrt(dim)
    features = torch.randn(examples, dim, generator=generator, dtype=torch.float64) * std
    weight = torch.randn(classes, dim, generator=generator, dtype=torch.float64) * std
    target = torch.randint(0, classes, (examples,), generator=generator)
    cosine, norms = cosine_and_scale(features, weight)
    return StartInputs(cosine, target, norms if scale == LINEAR else float(scale))


def given_start(body: Any) -> StartInputs:
    """Inputs from ``{"cosine", "target", "scale"}`` (JSON-able); InspectError naming ``cosines.<field>``."""
    if not isinstance(body, Mapping):
        raise InspectError(f"`cosines`: expected an object with cosine, target and scale, got {type(body).__name__}")
    missing = [field for field in ("cosine", "target", "scale") if field not in body]
    if missing:
        raise InspectError(f"`cosines.{missing[0]}`: expected a value, got none")
    try:
        cosine = check_cosine(torch.tensor(body["cosine"], dtype=torch.float64))
    except (TypeError, ValueError, RuntimeError) as error:
        raise InspectError(f"`cosines.cosine`: expected an N x C array of numbers (C >= 2): {error}") from error
    raw_target = body["target"]
    if not isinstance(raw_target, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw_target):
        raise InspectError(f"`cosines.target`: expected a list of {cosine.shape[0]} integers, got {raw_target!r:.80}")
    try:
        target = check_target(torch.tensor(raw_target, dtype=torch.int64), cosine)
    except (TypeError, ValueError, RuntimeError) as error:
        raise InspectError(f"`cosines.target`: expected {cosine.shape[0]} integers in [0, {cosine.shape[1]}): "
                           f"{error}") from error
    raw = body["scale"]
    try:
        scale = check_scale(float(raw) if _positive_number(raw) else torch.tensor(raw, dtype=torch.float64), cosine)
    except (TypeError, ValueError, RuntimeError) as error:
        raise InspectError(f"`cosines.scale`: expected a number > 0 or an array broadcastable to "
                           f"[{cosine.shape[0]}, {cosine.shape[1]}]: {error}") from error
    bad_cosine = not bool(torch.isfinite(cosine).all())
    bad_scale = isinstance(scale, torch.Tensor) and not bool((torch.isfinite(scale) & (scale > 0)).all())
    if bad_cosine or bad_scale:
        field = "cosine" if bad_cosine else "scale"
        raise InspectError(f"`cosines.{field}`: expected finite numbers{' > 0' if field == 'scale' else ''}")
    return StartInputs(cosine, target, scale)


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
