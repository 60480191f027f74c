"""The worker side of AM-LFS: a public session API any training script can use.

:func:`connect` returns a :class:`Session`; :meth:`Session.tasks` yields :class:`Task`s.
``python -m amlfs.worker`` is the built-in worker, written on this API alone. For a plain
training script, :class:`SearchedCrossEntropyLoss` and :func:`epochs` keep the changes to a
few lines (docs/plug-in.md).
"""
from .errors import ConfigError, ControllerLost, SessionClosed, ShutdownRequested, TaskFailed, WorkerError
from .linear_loss import SearchedCrossEntropyLoss
from .loop import epochs
from .session import Session, connect
from .task import Task

__all__ = [
    "ConfigError",
    "ControllerLost",
    "SearchedCrossEntropyLoss",
    "Session",
    "SessionClosed",
    "ShutdownRequested",
    "Task",
    "TaskFailed",
    "WorkerError",
    "connect",
    "epochs",
]
