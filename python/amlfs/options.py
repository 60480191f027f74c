"""Config options as data: each baseline (``baseline.options``) and each head (``head.options``)
declares its options with defaults; anything else is an error.

An option is data: a ``kind`` (one of :data:`OPTION_KINDS`), a default, the ``expected``
phrase of its error message and, for ``oneOf``, the ``choices``. The catalog
(``proto/catalog.json``, :mod:`amlfs.catalog`) carries the same data to the TypeScript
side, which checks each kind the same way (``src/schema/options.ts``; both suites read
``proto/vectors/options/kinds.json``), so a misspelt or mistyped option is a config error at
``amlfs validate`` time, not in the worker. :data:`NESTED_KINDS` are checked by Python only:
they describe options nested inside an ``object`` option (``cosface``'s ``headOptions``),
which the catalog does not list.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Type


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _increasing(value: Any, item: Callable[[Any], bool]) -> bool:
    """A list whose items pass ``item``, in non-decreasing order."""
    return isinstance(value, list) and all(item(x) for x in value) and value == sorted(value)


Check = Callable[[Any, Tuple[Any, ...]], bool]

#: kind -> check(value, choices). The TypeScript side mirrors this table.
OPTION_KINDS: Dict[str, Check] = {
    "positiveInt": lambda v, _: _int(v) and v >= 1,
    "nonNegativeInt": lambda v, _: _int(v) and v >= 0,
    "positiveIntOrNull": lambda v, _: v is None or (_int(v) and v >= 1),
    "positiveNumber": lambda v, _: _number(v) and v > 0,
    "nonNegativeNumber": lambda v, _: _number(v) and v >= 0,
    "fraction": lambda v, _: _number(v) and 0 <= v < 1,
    "boolean": lambda v, _: isinstance(v, bool),
    "oneOf": lambda v, choices: not isinstance(v, bool) and v in choices,
    "fractionsList": lambda v, _: _increasing(v, lambda x: _number(x) and 0 < x < 1),
    "intList": lambda v, _: _increasing(v, lambda x: _int(x) and x >= 0),
    "epochList": lambda v, _: _increasing(v, lambda x: _int(x) and x >= 1),
    "pathOrNull": lambda v, _: v is None or (isinstance(v, str) and v != ""),
    "object": lambda v, _: isinstance(v, Mapping),
}

#: kind -> check(value, choices), for options inside an ``object`` option (not in the catalog).
NESTED_KINDS: Dict[str, Check] = {
    "finiteNumber": lambda v, _: _number(v),
    "angleRad": lambda v, _: _number(v) and 0 <= v < math.pi,
}

_CHECKS: Dict[str, Check] = {**OPTION_KINDS, **NESTED_KINDS}


@dataclass(frozen=True)
class Option:
    kind: str
    default: Any
    expected: str
    choices: Tuple[Any, ...] = ()
    #: where the default comes from (``repository@commit file:line`` or a paper section), for
    #: ``docs/baselines.md``; not part of the catalog.
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _CHECKS:
            raise ValueError(f"option kind: expected one of {', '.join(_CHECKS)}, got {self.kind!r}")
        if (self.kind == "oneOf") != bool(self.choices):
            raise ValueError(f"option choices: expected choices exactly for kind oneOf, got {self.choices!r}")

    def accepts(self, value: Any) -> bool:
        return _CHECKS[self.kind](value, self.choices)

    def describe(self) -> Dict[str, Any]:
        """The JSON form of the catalog: ``{kind, default, expected, choices?}``."""
        out = {"kind": self.kind, "default": self.default, "expected": self.expected}
        if self.choices:
            out["choices"] = list(self.choices)
        return out


def sourced(option: Option, source: str) -> Option:
    """``option`` with its default's ``source`` (see :attr:`Option.source`)."""
    return replace(option, source=source)


def sourced_table(options: Mapping[str, Option], source: str) -> Dict[str, Option]:
    """``options`` with ``source`` on every option that has none (a table with one origin)."""
    return {name: option if option.source else sourced(option, source) for name, option in options.items()}


def positive_int(default: int) -> Option:
    return Option("positiveInt", default, "a positive integer")


def non_negative_int(default: int) -> Option:
    return Option("nonNegativeInt", default, "a non-negative integer")


def int_or_null() -> Option:
    return Option("positiveIntOrNull", None, "a positive integer or null")


def positive_number(default: float) -> Option:
    return Option("positiveNumber", default, "a positive number")


def non_negative_number(default: float) -> Option:
    return Option("nonNegativeNumber", default, "a non-negative number")


def fraction(default: float) -> Option:
    return Option("fraction", default, "a number in [0, 1)")


def boolean(default: bool) -> Option:
    return Option("boolean", default, "true or false")


def one_of(default: Any, choices: Sequence[Any]) -> Option:
    rendered = [f'"{c}"' if isinstance(c, str) else str(c) for c in choices]
    return Option("oneOf", default, "one of " + ", ".join(rendered), tuple(choices))


def fractions_list(default: Sequence[float]) -> Option:
    return Option("fractionsList", list(default), "an increasing list of numbers in (0, 1) (fractions of search.epochs)")


def int_list(default: Sequence[int]) -> Option:
    return Option("intList", list(default), "an increasing list of non-negative integers")


def epoch_list(default: Sequence[int]) -> Option:
    return Option("epochList", list(default),
                  "an increasing list of positive integers (epochs of a recipeEpochs-long run)")


def path_or_null() -> Option:
    return Option("pathOrNull", None, "a file path or null")


def mapping(default: Mapping[str, Any]) -> Option:
    """An object (checked further by whoever reads it)."""
    return Option("object", dict(default), "an object")


def finite_number(default: float, unit: str) -> Option:
    return Option("finiteNumber", default, f"a finite number ({unit})")


def angle_rad(default: float) -> Option:
    return Option("angleRad", default, "a number in [0, pi) (radians)")


def check_options(given: Mapping[str, Any], spec: Mapping[str, Option], *, where: str, owner: str,
                  error: Type[Exception], defaults: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """``given`` checked against ``spec`` with defaults filled in; errors are ``error`` naming
    ``where.<option>`` (``baseline.options.lr``) and, for an unknown option, ``owner`` (``sft``).
    ``defaults`` replace the table's defaults for the options it names (a recipe preset)."""
    if not isinstance(given, Mapping):
        raise error(f"`{where}`: expected an object, got {given!r}")
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise error(f"`{where}.{unknown[0]}`: unknown option for {owner} (known: {', '.join(sorted(spec)) or 'none'})")
    out = {}
    for name, option in spec.items():
        value = given[name] if name in given else (defaults or {}).get(name, option.default)
        if not option.accepts(value):
            raise error(f"`{where}.{name}`: expected {option.expected}, got {value!r}")
        out[name] = value
    return out
