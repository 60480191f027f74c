"""Reading the golden vectors of ``proto/vectors`` (format: ``proto/vectors/README.md``)."""
from __future__ import annotations

import json
import math
from pathlib import Path

VECTORS_DIR = Path(__file__).resolve().parents[2] / "proto" / "vectors"

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode(value):
    """Replace the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` by floats, recursively."""
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    return value


def load_vectors(relative: str) -> dict:
    """The decoded content of ``proto/vectors/<relative>``."""
    path = VECTORS_DIR / relative
    return decode(json.loads(path.read_text()))


def case_ids(cases) -> "list[str]":
    return [case["name"] for case in cases]
