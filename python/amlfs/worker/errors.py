"""Errors of the worker layer (transport, session, built-in worker).

:class:`TaskFailed` and :class:`NonFiniteLoss`, which recipes raise too, live in
:mod:`amlfs.task_errors` and are re-exported here.
"""
from ..task_errors import NonFiniteLoss, TaskFailed

__all__ = ["ConfigError", "ControllerLost", "HeaderError", "NonFiniteLoss", "SessionClosed", "ShutdownRequested",
           "TaskFailed", "WorkerError"]


class WorkerError(RuntimeError):
    """A problem of the worker session: configuration, protocol or state."""


class ConfigError(WorkerError):
    """The experiment cannot run with this config or its data (a missing folder, a corrupt file, a
    bad option): not a bug and not a lost worker.

    Raised inside ``with connect(...) as session:`` (``with task:`` included), the session sends
    ``fatal {kind: "config", reason: str(error)}`` before it closes: the controller stops the whole
    run at once, starts no replacement, and ``amlfs`` exits 2 naming the reason. The same as
    :meth:`Session.fail_config`.
    """


class SessionClosed(WorkerError):
    """The session ended: the controller said ``shutdown`` or went silent. Not a task failure."""


class ShutdownRequested(SessionClosed):
    """The controller sent ``shutdown``; ``Session.__exit__`` treats it as a clean end."""


class ControllerLost(SessionClosed):
    """The controller was silent past ``heartbeatTimeoutMs`` or never answered ``hello``.

    ``exit_code`` is what the worker process exits with: :attr:`NO_WELCOME` (3) or
    :attr:`SILENT` (4).
    """

    NO_WELCOME = 3
    SILENT = 4

    def __init__(self, message: str, exit_code: int = 4):
        super().__init__(message)
        self.exit_code = exit_code


class HeaderError(ValueError):
    """A wire header that must be rejected; ``field`` names the offending field (``header`` for the frame)."""

    def __init__(self, field: str, reason: str, msg_id=None):
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.msg_id = msg_id
