"""A lost controller ends the worker process, even while its training thread is busy, so a
killed controller leaves no orphans (``connect(exit_on_lost=True)``)."""
from __future__ import annotations

import os
import sys
import threading

from .errors import ControllerLost

#: Seconds between a lost controller and the forced exit of the process (``exit_on_lost``).
LOST_EXIT_GRACE_S = 2.0


def exit_soon(error: ControllerLost, grace_s: float = LOST_EXIT_GRACE_S) -> None:
    """End the process with ``error.exit_code`` after ``grace_s``, without the interpreter's teardown
    (the training thread may be inside a long step); a daemon timer, so a clean exit is not held up."""

    def exit_now() -> None:
        sys.stderr.flush()
        os._exit(error.exit_code)

    timer = threading.Timer(grace_s, exit_now)
    timer.daemon = True
    timer.start()
