"""Heads by name, with their options, so that a baseline picks its softmax branch from the config.

``build_head("cosface", embedding_dim, num_classes, {"scale": 30, "marginCos": 0.4})``.
Option names are those of the experiment config (camelCase, units in the name:
``marginRad`` in radians, ``marginCos`` in cosine units); unknown names or options, and
values of the wrong kind, raise a :class:`HeadError` naming ``head.name`` or
``head.options.<option>``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

from . import arcface, cosface, searched, sphereface
from .arcface import ArcFaceHead
from .base import Head
from .cosface import CosFaceHead
from .errors import HeadError
from .searched import SearchedHead
from .softmax import SoftmaxHead
from .sphereface import SphereFaceHead


@dataclass(frozen=True)
class HeadOption:
    """A config option: its default, a check and what it expects (for the error message)."""

    default: Any
    check: Callable[[Any], bool]
    expected: str


@dataclass(frozen=True)
class HeadSpec:
    """A registered head: ``build(embedding_dim, num_classes, **kwargs)``, options mapped to kwargs."""

    name: str
    build: Callable[..., Head]
    options: Mapping[str, HeadOption]
    kwargs: Mapping[str, str]  # option name -> keyword of ``build``


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def positive_number(default: float) -> HeadOption:
    return HeadOption(default, lambda v: _number(v) and v > 0, "a positive number")


def non_negative_number(default: float) -> HeadOption:
    return HeadOption(default, lambda v: _number(v) and v >= 0, "a non-negative number")


def positive_int(default: int) -> HeadOption:
    return HeadOption(default, lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                      "a positive integer")


_HEADS: Dict[str, HeadSpec] = {}


def register_head(name: str, build: Callable[..., Head], options: Mapping[str, HeadOption],
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
    if not isinstance(given, Mapping):
        raise HeadError(f"`head.options`: expected an object, got {given!r}")
    unknown = sorted(set(given) - set(spec.options))
    if unknown:
        known = ", ".join(sorted(spec.options)) or "none"
        raise HeadError(f"`head.options.{unknown[0]}`: unknown option for head {name!r} (known: {known})")
    out = {}
    for option, rule in spec.options.items():
        value = given.get(option, rule.default)
        if not rule.check(value):
            raise HeadError(f"`head.options.{option}`: expected {rule.expected}, got {value!r}")
        out[option] = value
    return out


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
    "marginCos": HeadOption(cosface.MARGIN_COS, _number, "a finite number (cosine units)"),
}, {"scale": "scale", "marginCos": "margin_cos"})
register_head("arcface", ArcFaceHead, {
    "scale": positive_number(arcface.SCALE),
    "marginRad": HeadOption(arcface.MARGIN_RAD, lambda v: _number(v) and 0 <= v < math.pi,
                            "a number in [0, pi) (radians)"),
    "easyMargin": HeadOption(False, lambda v: isinstance(v, bool), "true or false"),
}, {"scale": "scale", "marginRad": "margin_rad", "easyMargin": "easy_margin"})
register_head("searched", SearchedHead, {
    "scale": positive_number(searched.SCALE),
    "numIntervals": positive_int(6),
}, {"scale": "scale", "numIntervals": "num_intervals"})
