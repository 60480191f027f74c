"""``for epoch in epochs(session, criterion, evaluate):``: a script's own epoch loop, driven by the controller.

AM-LFS (Li et al., ICCV 2019, Algorithm 1) trains each sampled loss for one epoch from a
shared start state and scores it on the validation split. :func:`epochs` turns that into
the ``for epoch in range(n):`` loop a training script already has: each iteration is one
``train`` task (start state loaded, ``theta`` set on the loss, torch seeded), and after
the loop body the reward is measured with ``evaluate`` and reported. ``evaluate`` tasks
(the final test evaluation) are answered without entering the body.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Mapping, Optional, Union

from ..loss.stats import LossStats
from .errors import TaskFailed
from .reward import reward_metric, reward_of

if TYPE_CHECKING:
    from .session import Session
    from .task import Task

#: What ``evaluate(split)`` returns: the reward metric's value, or named metrics that include it.
Metrics = Union[float, Mapping[str, float]]


def epochs(session: "Session", criterion: Any, evaluate: Callable[[str], Metrics]) -> Iterator[int]:
    """Yield the epoch index (0-based) of each train task; report its reward after the body.

    Args:
        session: a connected :class:`~amlfs.worker.Session` with the model, optimizer
            and scheduler attached (:meth:`Session.attach`).
        criterion: the searched loss; its ``set_theta(theta)`` is called before each
            train task (``SearchedCrossEntropyLoss`` or ``amlfs.SearchedSoftmaxLoss``).
            When it has ``reset_stats`` and ``mean_loss`` (``SearchedCrossEntropyLoss``),
            the epoch's mean loss is reported and a non-finite one fails the task. When
            it has ``stats`` (a :class:`~amlfs.loss.LossStats`, as both have), it is reset
            before each train task and its ``summary()`` is reported as ``lossStats``.
        evaluate: ``evaluate(split)`` with ``split`` ``"val"`` or ``"test"``: a number
            (the experiment's ``reward.metric``, e.g. top-1 accuracy in [0, 1]) or a
            mapping of metrics that holds it.

    After a train task's body the trained state is packed and held for the controller
    (:meth:`Task.report`). An exception inside the loop body leaves the loop and ends
    the script, as it would without AM-LFS; the controller records the task's failure
    and starts a replacement worker. Exceptions from ``evaluate`` fail only the task.
    The session is closed when the controller says ``shutdown``.
    """
    metric = reward_metric(session.experiment)
    try:
        for task in session.tasks():
            if not task.is_train:
                with task:
                    started = time.monotonic()
                    reward, metrics = _scored(evaluate(task.split), metric)
                    task.report(reward=reward, metrics=metrics, timings_ms={"eval": _ms_since(started)})
                continue
            with task:
                criterion.set_theta(task.theta)
                if hasattr(criterion, "t_scale_grad"):
                    criterion.t_scale_grad = task.t_scale_grad
                if hasattr(criterion, "tau_form"):
                    criterion.tau_form = task.tau_form
                if hasattr(criterion, "reset_stats"):
                    criterion.reset_stats()
                stats = _loss_stats(criterion)
                if stats is not None:
                    stats.reset()
            if task.done:  # set_theta refused theta: failed by ``with task``
                continue
            started = time.monotonic()
            yield task.epoch
            _finish_train(task, criterion, evaluate, metric, _ms_since(started))
    finally:
        session.close()


def _finish_train(task: "Task", criterion: Any, evaluate: Callable[[str], Metrics], metric: str, train_ms: float) -> None:
    with task:
        mean_loss = getattr(criterion, "mean_loss", None)
        if mean_loss is not None and not math.isfinite(mean_loss):
            raise TaskFailed(f"the mean training loss of the epoch is {mean_loss}")
        stats = _loss_stats(criterion)
        loss_stats = None if stats is None else stats.summary()  # before evaluate: it may call the loss
        started = time.monotonic()
        reward, metrics = _scored(evaluate(task.split), metric)
        task.report(reward=reward, metrics=metrics, train_loss=mean_loss,
                    timings_ms={"train": train_ms, "eval": _ms_since(started)}, loss_stats=loss_stats)


def _loss_stats(criterion: Any) -> Optional[LossStats]:
    """The criterion's :class:`LossStats` (``criterion.stats``), or None when it keeps none."""
    stats = getattr(criterion, "stats", None)
    return stats if isinstance(stats, LossStats) else None


def _scored(result: Metrics, metric: str) -> "tuple[float, Dict[str, float]]":
    """``(reward, metrics)`` from what ``evaluate`` returned."""
    if isinstance(result, Mapping):
        return reward_of(result, metric), {str(k): float(v) for k, v in result.items()}
    try:
        if isinstance(result, (bool, str, bytes)):
            raise TypeError(type(result).__name__)
        value = float(result)  # a number or a one-element tensor
    except (TypeError, ValueError) as error:
        raise TaskFailed(f"Expected evaluate() to return a number ({metric}) or a mapping of metrics, "
                         f"got {type(result).__name__}") from error
    return value, {metric: value}


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000.0
