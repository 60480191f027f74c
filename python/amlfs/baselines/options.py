"""``baseline.options``: the option kinds of :mod:`amlfs.options`, errors as :class:`BaselineError`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from ..options import (NESTED_KINDS, OPTION_KINDS, Option, boolean, check_options, epoch_list, fraction, fractions_list,
                       int_list, int_or_null, mapping, non_negative_int, non_negative_number, one_of, path_or_null,
                       positive_int, positive_number, sourced, sourced_table)
from .errors import BaselineError

__all__ = [
    "boolean", "epoch_list", "fraction", "fractions_list", "int_list", "int_or_null", "mapping",
    "NESTED_KINDS", "non_negative_int", "non_negative_number", "one_of", "Option", "OPTION_KINDS",
    "parse_options", "path_or_null", "positive_int", "positive_number", "Presets", "RECIPE_OPTION", "sourced",
    "sourced_table",
]


#: The option naming a baseline's recipe preset.
RECIPE_OPTION = "recipe"


@dataclass(frozen=True)
class Presets:
    """A baseline's named recipe presets, chosen by ``baseline.options.recipe``.

    The option table's defaults are the ``default`` preset (``upstream``: the authors' code,
    where there is one); ``overrides`` maps every other preset (``paper``: where the paper and
    the code disagree) to the defaults it changes, each with its source (``docs/baselines.md``).
    Options the user gives win over both.
    """

    default: str
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def names(self) -> Tuple[str, ...]:
        return (self.default, *self.overrides)

    def option(self) -> Option:
        return one_of(self.default, self.names())

    def defaults(self, name: str) -> Mapping[str, Any]:
        return {} if name == self.default else self.overrides[name]

    def check(self, baseline: str, spec: Mapping[str, Option]) -> None:
        """Every preset names known options with values their kinds accept (a registration error otherwise)."""
        if spec.get(RECIPE_OPTION) is None or spec[RECIPE_OPTION].choices != self.names():
            raise ValueError(f"{baseline}: option {RECIPE_OPTION!r} must be Presets.option()")
        for name, values in self.overrides.items():
            for option, value in values.items():
                if option not in spec or not spec[option].accepts(value):
                    raise ValueError(f"{baseline}: preset {name!r} sets {option}={value!r}, not an accepted option value")


def parse_options(baseline: str, given: Mapping[str, Any], spec: Mapping[str, Option],
                  presets: Optional[Presets] = None) -> Dict[str, Any]:
    """``given`` (``baseline.options``) checked against ``spec`` with defaults filled in: those of
    the preset ``given["recipe"]`` names when the baseline has ``presets``."""
    defaults: Mapping[str, Any] = {}
    if presets is not None and isinstance(given, Mapping):
        name = given.get(RECIPE_OPTION, presets.default)
        if name not in presets.names():
            raise BaselineError(f"`baseline.options.{RECIPE_OPTION}`: expected {spec[RECIPE_OPTION].expected}, "
                                f"got {name!r}")
        defaults = presets.defaults(name)
    return check_options(given, spec, where="baseline.options", owner=baseline, error=BaselineError,
                         defaults=defaults)
