"""``baseline.options``: each baseline declares its options with defaults; anything else is an error."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Sequence

from .errors import BaselineError


@dataclass(frozen=True)
class Option:
    default: Any
    check: Callable[[Any], bool]
    expected: str


def positive_int(default: int) -> Option:
    return Option(default, lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a positive integer")


def positive_number(default: float) -> Option:
    return Option(default, lambda v: _number(v) and v > 0, "a positive number")


def non_negative_number(default: float) -> Option:
    return Option(default, lambda v: _number(v) and v >= 0, "a non-negative number")


def fraction(default: float) -> Option:
    return Option(default, lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)")


def boolean(default: bool) -> Option:
    return Option(default, lambda v: isinstance(v, bool), "true or false")


def one_of(default: str, choices: Sequence[str]) -> Option:
    return Option(default, lambda v: v in choices, "one of " + ", ".join(f'"{c}"' for c in choices))


def fractions_list(default: Sequence[float]) -> Option:
    return Option(
        list(default),
        lambda v: isinstance(v, list) and all(_number(x) and 0 < x < 1 for x in v) and v == sorted(v),
        "an increasing list of numbers in (0, 1) (fractions of search.epochs)",
    )


def parse_options(baseline: str, given: Mapping[str, Any], spec: Mapping[str, Option]) -> Dict[str, Any]:
    """``given`` checked against ``spec`` with defaults filled in."""
    if not isinstance(given, Mapping):
        raise BaselineError(f"`baseline.options`: expected an object, got {given!r}")
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise BaselineError(f"`baseline.options.{unknown[0]}`: unknown option for {baseline} "
                            f"(known: {', '.join(sorted(spec))})")
    out = {}
    for name, option in spec.items():
        value = given.get(name, option.default)
        if not option.check(value):
            raise BaselineError(f"`baseline.options.{name}`: expected {option.expected}, got {value!r}")
        out[name] = value
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mapping(default: Mapping[str, Any]) -> Option:
    """An object (checked further by whoever reads it)."""
    return Option(dict(default), lambda v: isinstance(v, Mapping), "an object")


def int_list(default: Sequence[int]) -> Option:
    return Option(list(default),
                  lambda v: isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                                        for x in v) and v == sorted(v),
                  "an increasing list of non-negative integers")
