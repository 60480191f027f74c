"""``baseline.options``: the option kinds of :mod:`amlfs.options`, errors as :class:`BaselineError`."""
from __future__ import annotations

from typing import Any, Dict, Mapping

from ..options import (NESTED_KINDS, OPTION_KINDS, Option, boolean, check_options, epoch_list, fraction, fractions_list,
                       int_list, int_or_null, mapping, non_negative_int, non_negative_number, one_of, path_or_null,
                       positive_int, positive_number)
from .errors import BaselineError

__all__ = [
    "NESTED_KINDS", "OPTION_KINDS", "Option", "boolean", "epoch_list", "fraction", "fractions_list", "int_list",
    "int_or_null", "mapping", "non_negative_int", "non_negative_number", "one_of", "parse_options", "path_or_null",
    "positive_int", "positive_number",
]


def parse_options(baseline: str, given: Mapping[str, Any], spec: Mapping[str, Option]) -> Dict[str, Any]:
    """``given`` (``baseline.options``) checked against ``spec`` with defaults filled in."""
    return check_options(given, spec, where="baseline.options", owner=baseline, error=BaselineError)
