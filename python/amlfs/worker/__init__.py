"""The worker side of AM-LFS: a public session API any training script can use.

:func:`connect` returns a :class:`Session`; :meth:`Session.tasks` yields :class:`Task`s.
``python -m amlfs.worker`` is the built-in worker, written on this API alone.
"""
from .errors import ControllerLost, SessionClosed, ShutdownRequested, TaskFailed, WorkerError
from .session import Session, connect
from .task import Task

__all__ = [
    "ControllerLost",
    "Session",
    "SessionClosed",
    "ShutdownRequested",
    "Task",
    "TaskFailed",
    "WorkerError",
    "connect",
]
