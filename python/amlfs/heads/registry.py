"""Heads by name, with their options, so that a baseline picks its softmax branch from the config.

``build_head("cosface", embedding_dim, num_classes, {"scale": 30, "marginCos": 0.4})``.
Option names are those of the experiment config (camelCase, units in the name:
``marginRad`` in radians, ``marginCos`` in cosine units); unknown names or options, and
values of the wrong kind, raise a :class:`HeadError` naming ``head.name`` or
``head.options.<option>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

from ..options import (Option, angle_rad, boolean, check_options, finite_number, non_negative_number, positive_int,
                       positive_number)
from . import arcface, cosface, searched, sphereface
from .arcface import ArcFaceHead
from .base import Head
from .cosface import CosFaceHead
from .errors import HeadError
from .searched import SearchedHead
from .softmax import SoftmaxHead
from .sphereface import SphereFaceHead

#: A head's config option: the option kinds of :mod:`amlfs.options`, as for baselines.
HeadOption = Option


@dataclass(frozen=True)
class HeadSpec:
    """A registered head: ``build(embedding_dim, num_classes, **kwargs)``, options mapped to kwargs."""

    name: str
    build: Callable[..., Head]
    options: Mapping[str, Option]
    kwargs: Mapping[str, str]  # option name -> keyword of ``build``


_HEADS: Dict[str, HeadSpec] = {}


def register_head(name: str, build: Callable[..., Head], options: Mapping[str, Option],
                  kwargs: Optional[Mapping[str, str]] = None) -> HeadSpec:
    """Register ``build`` as head ``name``; ``kwargs`` maps option names to keywords (default: same name)."""
    if name in _HEADS:
        raise HeadError(f"head {name!r} is already registered")
    spec = HeadSpec(name, build, dict(options), dict(kwargs or {o: o for o in options}))
    _HEADS[name] = spec
    return spec


def head_names() -> List[str]:
    return sorted(_HEADS)


def get_head(name: str) -> HeadSpec:
    spec = _HEADS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise HeadError(f"`head.name`: {name!r} is not a registered head (available: {', '.join(head_names())})")
    return spec


def parse_head_options(name: str, given: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """``given`` checked against head ``name``'s options, defaults filled in (keys are option names)."""
    spec = get_head(name)
    given = {} if given is None else given
    return check_options(given, spec.options, where="head.options", owner=f"head {name!r}", error=HeadError)


def build_head(name: str, embedding_dim: int, num_classes: int, options: Optional[Mapping[str, Any]] = None) -> Head:
    """The head ``name`` for ``embedding_dim``-d features and ``num_classes`` classes, with ``options``."""
    spec = get_head(name)
    parsed = parse_head_options(name, options)
    return spec.build(embedding_dim, num_classes, **{spec.kwargs[k]: v for k, v in parsed.items()})


register_head("softmax", SoftmaxHead, {})
register_head("sphereface", SphereFaceHead, {
    "marginMultiplier": positive_int(sphereface.MARGIN_MULTIPLIER),
    "lambdaBase": non_negative_number(sphereface.LAMBDA_BASE),
    "lambdaGamma": non_negative_number(sphereface.LAMBDA_GAMMA),
    "lambdaPower": non_negative_number(sphereface.LAMBDA_POWER),
    "lambdaMin": non_negative_number(sphereface.LAMBDA_MIN),
}, {"marginMultiplier": "margin_multiplier", "lambdaBase": "lambda_base", "lambdaGamma": "lambda_gamma",
    "lambdaPower": "lambda_power", "lambdaMin": "lambda_min"})
register_head("cosface", CosFaceHead, {
    "scale": positive_number(cosface.SCALE),
    "marginCos": finite_number(cosface.MARGIN_COS, "cosine units"),
}, {"scale": "scale", "marginCos": "margin_cos"})
register_head("arcface", ArcFaceHead, {
    "scale": positive_number(arcface.SCALE),
    "marginRad": angle_rad(arcface.MARGIN_RAD),
    "easyMargin": boolean(False),
}, {"scale": "scale", "marginRad": "margin_rad", "easyMargin": "easy_margin"})
register_head("searched", SearchedHead, {
    "scale": positive_number(searched.SCALE),
    "numIntervals": positive_int(6),
}, {"scale": "scale", "numIntervals": "num_intervals"})
