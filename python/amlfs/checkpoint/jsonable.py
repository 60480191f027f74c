"""Non-tensor state (optimizer groups, LR schedulers) as JSON, without pickle.

``state_dict()``s hold more than JSON can say: tuples (Adam's ``betas``), dicts with int
keys, ``collections.Counter`` (``MultiStepLR.milestones``). These are written as tagged
objects so they come back with their types, which ``load_state_dict`` and the later
arithmetic rely on. Floats round-trip exactly (``repr``); non-finite floats are written
as ``NaN`` / ``Infinity`` (Python's JSON extension: only Python reads these strings).
Anything else (a tensor, a function) is an error naming its path.
"""
from __future__ import annotations

import collections
import json
from typing import Any

from .errors import CheckpointError

_TAG = "__amlfs__"


def dumps(value: Any, where: str) -> str:
    """JSON text of ``value``; ``where`` names it in errors (e.g. ``scheduler``)."""
    return json.dumps(_encode(value, where), sort_keys=True, separators=(",", ":"))


def loads(text: str, where: str) -> Any:
    """Inverse of :func:`dumps`."""
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise CheckpointError(f"`{where}`: metadata is not valid JSON ({error})") from error
    return _decode(raw, where)


def _encode(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {_TAG: "tuple", "items": [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        kind = "counter" if isinstance(value, collections.Counter) else "dict"
        if kind == "dict" and all(isinstance(k, str) for k in value) and _TAG not in value:
            return {k: _encode(v, f"{path}.{k}") for k, v in value.items()}
        items = []
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise CheckpointError(f"`{path}`: cannot store a key of type {type(k).__name__} ({k!r})")
            items.append([k, _encode(v, f"{path}.{k}")])
        return {_TAG: kind, "items": items}
    raise CheckpointError(
        f"`{path}`: cannot store a value of type {type(value).__name__} as JSON metadata "
        "(tensors belong in the tensor section; functions and objects cannot be stored)"
    )


def _decode(value: Any, path: str) -> Any:
    if isinstance(value, list):
        return [_decode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if _TAG not in value:
        return {k: _decode(v, f"{path}.{k}") for k, v in value.items()}
    kind = value[_TAG]
    items = value.get("items")
    if not isinstance(items, list):
        raise CheckpointError(f"`{path}`: tagged value without `items`")
    if kind == "tuple":
        return tuple(_decode(v, f"{path}[{i}]") for i, v in enumerate(items))
    if kind in ("dict", "counter"):
        out = collections.Counter() if kind == "counter" else {}
        for pair in items:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise CheckpointError(f"`{path}`: expected [key, value] pairs, got {pair!r}")
            out[pair[0]] = _decode(pair[1], f"{path}.{pair[0]}")
        return out
    raise CheckpointError(f"`{path}`: unknown tag {kind!r}")
