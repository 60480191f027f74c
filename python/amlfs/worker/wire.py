"""Wire headers (docs/protocol.md): the JSON Schema (``proto/``, shipped as ``amlfs/_proto``), validation, encoding.

Every incoming header is checked in this order, and the first failure names its field:
size (at most ``x-maxHeaderBytes``), UTF-8 JSON, an object, ``protocol``, ``type``, then
the JSON Schema of that type (Draft 2020-12, the ``oneOf`` branch whose ``type`` matches,
which is what the whole schema accepts). The receiver's own checks (``runId``, sender)
come after, in :mod:`amlfs.worker.transport`.
"""
from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .errors import HeaderError

SCHEMA_FILE = "wire.schema.json"
PROTO_DIR_ENV = "AMLFS_PROTO_DIR"
# The generated files shipped inside the package (python/pyproject.toml, package-data).
PACKAGE_PROTO_DIR = "_proto"


def proto_dir() -> Path:
    """Folder holding ``wire.schema.json``: ``$AMLFS_PROTO_DIR``, else the package's own ``amlfs/_proto``.

    ``amlfs/_proto`` ships in the wheel (package data, copies of the repository's ``proto/``);
    in a checkout it is a link to ``proto/``, so an editable install reads the generated files
    themselves. The path is returned resolved, so that it names the files actually read.
    """
    override = os.environ.get(PROTO_DIR_ENV)
    if override:
        path = Path(override)
        if not (path / SCHEMA_FILE).is_file():
            raise FileNotFoundError(f"{PROTO_DIR_ENV}={override}: no {SCHEMA_FILE} there")
        return path
    packaged = Path(__file__).resolve().parent.parent / PACKAGE_PROTO_DIR
    if not (packaged / SCHEMA_FILE).is_file():
        raise FileNotFoundError(
            f"no {SCHEMA_FILE} in {packaged} (package data of amlfs): reinstall the amlfs package, "
            f"or set {PROTO_DIR_ENV} to the folder that holds {SCHEMA_FILE}"
        )
    return packaged.resolve()


@functools.lru_cache(maxsize=None)
def load_schema(path: Optional[str] = None) -> Dict[str, Any]:
    """The wire JSON Schema (``wire.schema.json`` in :func:`proto_dir` unless ``path`` is given)."""
    file = Path(path) if path else proto_dir() / SCHEMA_FILE
    with open(file, encoding="utf-8") as handle:
        return json.load(handle)


class WireCodec:
    """Decodes and validates incoming headers and encodes outgoing ones, per the wire schema."""

    def __init__(self, schema: Optional[Dict[str, Any]] = None):
        self.schema = schema if schema is not None else load_schema()
        Draft202012Validator.check_schema(self.schema)
        self.protocol: int = self.schema["x-protocol"]
        self.max_header_bytes: int = self.schema["x-maxHeaderBytes"]
        self.full_validator = Draft202012Validator(self.schema)
        self.validators: Dict[str, Draft202012Validator] = {}
        for branch in self.schema["oneOf"]:
            self.validators[branch["properties"]["type"]["const"]] = Draft202012Validator(branch)
        self.types: List[str] = sorted(self.validators)

    def decode(self, frame: bytes) -> Dict[str, Any]:
        """The validated header of a raw frame, or :class:`HeaderError` naming the field."""
        if len(frame) > self.max_header_bytes:
            raise HeaderError("header", f"`header`: {len(frame)} bytes, more than the limit of {self.max_header_bytes}")
        try:
            header = json.loads(bytes(frame).decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as error:
            raise HeaderError("header", f"`header`: not UTF-8 JSON ({_one_line(str(error), 120)})") from error
        return self.validate(header)

    def validate(self, header: Any) -> Dict[str, Any]:
        """``header`` if it is a valid message header, else :class:`HeaderError` naming the field."""
        if not isinstance(header, dict):
            raise HeaderError("header", f"`header`: expected a JSON object, got {_json_type(header)}")
        msg_id = header.get("msgId") if isinstance(header.get("msgId"), str) else None
        if "protocol" not in header:
            raise HeaderError("protocol", "`protocol`: required field is missing", msg_id)
        protocol = header["protocol"]
        if isinstance(protocol, bool) or protocol != self.protocol:
            raise HeaderError("protocol", f"`protocol`: expected {self.protocol}, got {_show(protocol)}", msg_id)
        kind = header.get("type")
        if "type" not in header:
            raise HeaderError("type", "`type`: required field is missing", msg_id)
        if kind not in self.validators:
            raise HeaderError("type", f"`type`: expected one of {', '.join(self.types)}, got {_show(kind)}", msg_id)
        error = best_match(self.validators[kind].iter_errors(header))
        if error is not None:
            field, reason = describe(error)
            raise HeaderError(field, f"{kind}: {reason}", msg_id)
        return header

    def encode(self, header: Dict[str, Any]) -> bytes:
        """UTF-8 JSON of an outgoing header, validated first (a bug here must not reach the wire)."""
        self.validate(header)
        data = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
        if len(data) > self.max_header_bytes:
            raise HeaderError("header", f"`header`: {len(data)} bytes, more than the limit of {self.max_header_bytes}")
        return data


def describe(error: ValidationError):
    """(top-level field, one-line reason naming the full path) of a jsonschema error."""
    path = list(error.absolute_path)
    validator = error.validator
    if validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        path.append(missing[0])
        return _field(path), f"`{_path(path)}`: required field is missing"
    if validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(name for name in error.instance if name not in allowed)
        path.append(extra[0])
        return _field(path), f"`{_path(path)}`: unknown field"
    given = _show(error.instance)
    expected = {
        "const": lambda v: f"{_show(v)}",
        "enum": lambda v: "one of " + ", ".join(_show(x) for x in v),
        "type": lambda v: " or ".join(v) if isinstance(v, list) else str(v),
        "pattern": lambda v: f"a string matching {v}",
        "minimum": lambda v: f"a number >= {v}",
        "maximum": lambda v: f"a number <= {v}",
        "minLength": lambda v: f"at least {v} characters",
        "maxLength": lambda v: f"at most {v} characters",
        "minItems": lambda v: f"at least {v} items",
        "anyOf": lambda v: "one of the allowed forms" + _any_of_hint(error),
    }.get(validator, lambda v: f"to satisfy `{validator}`")(error.validator_value)
    return _field(path), f"`{_path(path)}`: expected {expected}, got {given}"


def _any_of_hint(error: ValidationError) -> str:
    patterns = [s.get("pattern") or s.get("const") for s in error.validator_value if isinstance(s, dict)]
    patterns = [str(p) for p in patterns if p is not None]
    return f" ({' or '.join(patterns)})" if patterns else ""


def _field(path) -> str:
    return str(path[0]) if path else "header"


def _path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "header"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), type(value).__name__
    )


def _show(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return _one_line(text, 80)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def finite_or_none(value) -> Optional[float]:
    """A float for JSON, or ``None`` for ``None``/NaN/infinity (JSON has no non-finite numbers)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
