"""What a worker says about itself in ``hello`` (docs/protocol.md): process, host, device,
versions, adapter and dataset sizes."""
from __future__ import annotations

import os
import platform
import socket
from typing import Any, Dict, Mapping, Optional

import torch
import zmq

from .errors import WorkerError


def hello_fields(device: torch.device, threads: int, adapter: str, dataset_sizes: Dict[str, int]) -> Dict[str, Any]:
    """The fields of ``hello``; ``dataset_sizes`` as :func:`checked_sizes` returns them."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname()[:256],
        "device": str(device),
        "threads": threads,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__[:64],
            "amlfs": _amlfs_version(),
            "pyzmq": zmq.__version__,
        },
        "adapter": adapter[:64],
        "datasetSizes": dataset_sizes,
    }


def checked_sizes(sizes: Optional[Mapping[str, int]]) -> Dict[str, int]:
    """``{"train", "val", "test"}`` sample counts, zeros when ``None``; :class:`WorkerError` naming the key otherwise."""
    if sizes is None:
        return {"train": 0, "val": 0, "test": 0}
    out = {}
    for name in ("train", "val", "test"):
        value = sizes.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise WorkerError(f"Expected dataset_sizes[{name!r}] to be a non-negative integer, got {value!r}")
        out[name] = value
    unknown = sorted(set(sizes) - {"train", "val", "test"})
    if unknown:
        raise WorkerError(f"unknown dataset_sizes key {unknown[0]!r} (expected train, val, test)")
    return out


def _amlfs_version() -> str:
    try:
        from importlib.metadata import version

        return version("amlfs")[:64]
    except Exception:  # not installed as a distribution (a checkout on PYTHONPATH)
        return "0+unknown"
