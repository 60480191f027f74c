"""Where a worker connects and what it runs on: arguments first, then ``AMLFS_*`` variables."""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from typing import Optional

import torch

from .errors import WorkerError
from .wire import load_schema

ENV_CONNECT = "AMLFS_CONNECT"
ENV_WORKER_ID = "AMLFS_WORKER_ID"
ENV_RUN_ID = "AMLFS_RUN_ID"
ENV_DEVICE = "AMLFS_DEVICE"
ENV_THREADS = "AMLFS_THREADS"
ENV_STARTUP_TIMEOUT_MS = "AMLFS_STARTUP_TIMEOUT_MS"
ENV_CHUNK_BYTES = "AMLFS_CHUNK_BYTES"
ENV_WINDOW_CHUNKS = "AMLFS_WINDOW_CHUNKS"
ENV_TRANSFER_TIMEOUT_MS = "AMLFS_TRANSFER_TIMEOUT_MS"
ENV_CURVE_KEYS = "AMLFS_CURVE_KEYS"

DEFAULT_STARTUP_TIMEOUT_MS = 60_000
#: Longest transfer timeout an ``AMLFS_TRANSFER_TIMEOUT_MS`` may set: a day.
MAX_TRANSFER_TIMEOUT_MS = 24 * 3600 * 1000
_WORKER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CUDA = re.compile(r"^cuda(:(\d+))?$")
_Z85_KEY = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")


@dataclass(frozen=True)
class CurveKeys:
    """CURVE keys of a worker (Z85 text): the controller's public key and the worker's own pair."""

    server_public_key: str
    public_key: str
    secret_key: str


@dataclass(frozen=True)
class Settings:
    endpoint: str
    worker_id: str
    run_id: str
    device: torch.device
    threads: Optional[int]
    startup_timeout_s: float
    chunk_bytes: int
    window_chunks: int
    transfer_timeout_s: float
    curve: Optional[CurveKeys] = None


def resolve_settings(
    endpoint: Optional[str] = None,
    worker_id: Optional[str] = None,
    run_id: Optional[str] = None,
    device: Optional[str] = None,
    threads: Optional[int] = None,
    startup_timeout_s: Optional[float] = None,
    curve_keys: Optional[str] = None,
) -> Settings:
    """Fill each unset value from its environment variable and check it.

    The checkpoint transfer defaults and limits (chunk size, window, timeout) are the wire
    schema's (``x-defaultChunkBytes``, ``x-defaultWindowChunks``, ``x-defaultTransferTimeoutMs``,
    ``x-maxChunkBytes``, ``x-maxCreditChunks``): one value for both languages.
    """
    endpoint = _required(endpoint, ENV_CONNECT, "endpoint (--connect)")
    worker_id = _required(worker_id, ENV_WORKER_ID, "worker id (--worker-id)")
    if not _WORKER_ID.match(worker_id):
        raise WorkerError(f"Expected the worker id to be 1 to 64 of A-Z a-z 0-9 _ . -, got {worker_id!r}")
    run_id = _required(run_id, ENV_RUN_ID, "run id (--run-id)")
    if not 1 <= len(run_id) <= 128:
        raise WorkerError(f"Expected the run id to have 1 to 128 characters, got {len(run_id)}")
    if threads is None and os.environ.get(ENV_THREADS):
        threads = _integer(os.environ[ENV_THREADS], ENV_THREADS)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise WorkerError(f"Expected `threads` to be a positive integer, got {threads!r}")
    if startup_timeout_s is None:
        text = os.environ.get(ENV_STARTUP_TIMEOUT_MS)
        startup_timeout_s = (_integer(text, ENV_STARTUP_TIMEOUT_MS) if text else DEFAULT_STARTUP_TIMEOUT_MS) / 1000.0
    wire = load_schema()
    return Settings(
        endpoint=endpoint,
        worker_id=worker_id,
        run_id=run_id,
        device=resolve_device(device or os.environ.get(ENV_DEVICE) or "auto"),
        threads=threads,
        startup_timeout_s=float(startup_timeout_s),
        chunk_bytes=_bounded_env(ENV_CHUNK_BYTES, wire["x-defaultChunkBytes"], wire["x-maxChunkBytes"]),
        window_chunks=_bounded_env(ENV_WINDOW_CHUNKS, wire["x-defaultWindowChunks"], wire["x-maxCreditChunks"]),
        transfer_timeout_s=_bounded_env(ENV_TRANSFER_TIMEOUT_MS, wire["x-defaultTransferTimeoutMs"],
                                        MAX_TRANSFER_TIMEOUT_MS) / 1000.0,
        curve=load_curve_keys(curve_keys or os.environ.get(ENV_CURVE_KEYS) or None),
    )


def load_curve_keys(path: Optional[str]) -> Optional[CurveKeys]:
    """The worker key file the controller wrote (JSON ``serverPublicKey``, ``publicKey``,
    ``secretKey``), or ``None`` without one. A file that group or others may read is
    refused: it holds the worker's secret key.
    """
    if path is None:
        return None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise WorkerError(f"cannot read the CURVE key file {path}: {error.strerror}") from error
    if mode & 0o077:
        raise WorkerError(f"{path}: permissions {mode:o}, expected owner-only (600)")
    try:
        value = json.loads(text)
    except ValueError as error:
        raise WorkerError(f"{path}: expected JSON, got text that does not parse") from error
    if not isinstance(value, dict):
        raise WorkerError(f"{path}: expected a JSON object")
    for key in ("serverPublicKey", "publicKey", "secretKey"):
        if not isinstance(value.get(key), str) or not _Z85_KEY.match(value[key]):
            raise WorkerError(f"{path}: `{key}`: expected a 40-character Z85 key")
    return CurveKeys(value["serverPublicKey"], value["publicKey"], value["secretKey"])


def resolve_device(name: str) -> torch.device:
    """``auto``: the current CUDA device when there is one, else CPU; ``cpu``; ``cuda:N`` (checked)."""
    if name == "auto":
        return torch.device(f"cuda:{torch.cuda.current_device()}") if torch.cuda.is_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    match = _CUDA.match(name)
    if match:
        if not torch.cuda.is_available():
            raise WorkerError(f"device {name!r}: CUDA is not available to this torch build or machine")
        index = int(match.group(2) or 0)
        if index >= torch.cuda.device_count():
            raise WorkerError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
        return torch.device(f"cuda:{index}")
    raise WorkerError(f'Expected the device to be "auto", "cpu" or "cuda:N", got {name!r}')


def _required(value: Optional[str], env: str, what: str) -> str:
    value = value or os.environ.get(env)
    if not value:
        raise WorkerError(f"no {what}: pass it or set {env}")
    return value


def _bounded_env(env: str, default: int, maximum: int) -> int:
    """An integer from 1 to ``maximum`` in ``$env``, or ``default`` when it is unset."""
    text = os.environ.get(env)
    if not text:
        return default
    value = _integer(text, env)
    if not 1 <= value <= maximum:
        raise WorkerError(f"{env}: expected an integer from 1 to {maximum}, got {value}")
    return value


def _integer(text: str, env: str) -> int:
    try:
        return int(text)
    except ValueError as error:
        raise WorkerError(f"{env}: expected an integer, got {text!r}") from error
