"""The errors a training step raises to fail one task, shared by the recipes (``amlfs.baselines``)
and the worker (``amlfs.worker``, which re-exports them) without either importing the other."""


class TaskFailed(Exception):
    """Raise inside ``with task:`` to fail the task with exactly this message as the reason.

    The worker stays up and goes on to the next task; under a process group every rank raises
    it at the same step, so the group goes on too (:mod:`amlfs.worker.group`).
    """


class NonFiniteLoss(TaskFailed):
    """The training loss became NaN or infinite; the message is the task's failure reason."""
