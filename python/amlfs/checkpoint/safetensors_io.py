"""safetensors bytes with a canonical header, and reading the metadata back from bytes.

``safetensors.torch.save`` writes the ``__metadata__`` map in hash order, which changes
from call to call, so the same state would get a different sha256 each time. Checkpoints
are addressed by sha256 (a task names its start state by it, and a re-run of a lost
winner on CPU must reproduce the same state), so the header is rewritten with the
metadata keys sorted. The tensor entries and the data section are left as written.
"""
from __future__ import annotations

import hashlib
import json
import struct
from typing import Dict

import torch
from safetensors.torch import load as _load
from safetensors.torch import save as _save

from .errors import CheckpointError

_PREFIX = 8  # little-endian u64: header length in bytes
_ALIGN = 8


def sha256_hex(data: bytes) -> str:
    """Lowercase hex sha256 of ``data`` (how checkpoints are named on the wire)."""
    return hashlib.sha256(data).hexdigest()


def serialize(tensors: Dict[str, torch.Tensor], metadata: Dict[str, str]) -> bytes:
    """safetensors bytes of ``tensors`` (CPU, contiguous) with ``metadata``, byte-for-byte deterministic."""
    raw = _save(tensors, metadata)
    header, data_start = _split(raw, "serialized checkpoint")
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % _ALIGN)
    return struct.pack("<Q", len(text)) + text + raw[data_start:]


def deserialize(data: bytes) -> Dict[str, torch.Tensor]:
    """Tensors of safetensors ``data`` on CPU (never unpickles anything)."""
    try:
        return _load(bytes(data))
    except Exception as error:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"checkpoint is not a valid safetensors file ({error})") from error


def read_metadata(data: bytes) -> Dict[str, str]:
    """The ``__metadata__`` strings of safetensors ``data`` (empty when there are none)."""
    header, _ = _split(data, "checkpoint")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError("checkpoint `__metadata__` must map strings to strings")
    return metadata


def _split(data: bytes, what: str):
    if len(data) < _PREFIX:
        raise CheckpointError(f"{what} is {len(data)} bytes, too short for a safetensors header")
    (size,) = struct.unpack("<Q", bytes(data[:_PREFIX]))
    if size > len(data) - _PREFIX:
        raise CheckpointError(f"{what}: safetensors header of {size} bytes runs past the end ({len(data)} bytes)")
    try:
        header = json.loads(bytes(data[_PREFIX : _PREFIX + size]).decode("utf-8"))
    except ValueError as error:
        raise CheckpointError(f"{what}: safetensors header is not valid JSON ({error})") from error
    if not isinstance(header, dict):
        raise CheckpointError(f"{what}: safetensors header is not a JSON object")
    return header, _PREFIX + size
