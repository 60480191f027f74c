"""Worker logs: one line each, on stderr, prefixed with the worker id."""
from __future__ import annotations

import logging
import sys


def configure_logging(worker_id: str, level: int = logging.INFO) -> None:
    """Send ``amlfs`` logs to stderr as ``[<worker id>] <level>: <message>``.

    Does nothing when the ``amlfs`` logger or the root logger already has handlers (the
    user configured logging).
    """
    logger = logging.getLogger("amlfs")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"[{worker_id}] %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
