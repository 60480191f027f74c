"""One ``task`` from the controller: train one epoch (or evaluate) and report."""
from __future__ import annotations

import logging
import math
import time
import traceback
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from ..loss.stats import FIELDS as LOSS_STATS_FIELDS
from ..training_task import HeaderedTask
from .errors import ConfigError, SessionClosed, TaskFailed
from .wire import finite_or_none

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger("amlfs.worker")


class Task(HeaderedTask):
    """A task to run; obtained from :meth:`Session.tasks`, with the start state already loaded.

    Attributes (from the ``task`` message, docs/protocol.md; :class:`amlfs.training_task.TaskHeader`
    documents each, :attr:`parsed` holds them all):
        id, kind, epoch, sample, theta, M, t_scale_grad, tau_form, start, split.
        seed: seeds ``torch`` (already applied with ``torch.manual_seed``) and the data
            order (:meth:`generator`); equal for all samples of an epoch.
        start_epoch: the epoch counter stored in the start state (epochs completed).

    Use it as a context manager: an exception inside ``with task:`` fails the task with
    the exception as the reason (a :class:`TaskFailed` gives the reason verbatim) and the
    loop goes on to the next task; a :class:`ConfigError` is not caught here: it stops the
    whole run (:meth:`Session.fail_config`).
    """

    def __init__(self, session: "Session", header: Dict[str, Any], start_epoch: int, load_ms: float, started: float):
        super().__init__(header, start_epoch)
        self._session = session
        self._load_ms = load_ms
        self._started = started
        self._trained_from = time.monotonic()
        self._last_progress: Optional[float] = None
        self.done = False

    def progress(self, step: int, steps: int, loss: Optional[float] = None, *, samples: Optional[int] = None) -> bool:
        """Report training progress; sent at most every ``progress_interval_s`` (and always for the last step).

        Args:
            step: steps done so far; steps: steps in this epoch.
            loss: current training loss (NaN or infinity are sent as null).
            samples: samples processed so far in this task, for ``samplesPerSec``.

        Returns whether a message was sent. Raises :class:`SessionClosed` once the
        controller is lost or said ``shutdown``, so a long epoch stops early.
        """
        self._session.check_open()
        now = time.monotonic()
        interval = self._session.progress_interval_s
        if self._last_progress is not None and step < steps and now - self._last_progress < interval:
            return False
        self._last_progress = now
        elapsed = now - self._trained_from
        rate = samples / elapsed if samples is not None and elapsed > 0 else None
        self._session.send_progress(
            {
                "taskId": self.id,
                "step": int(step),
                "steps": int(steps),
                "loss": finite_or_none(loss),
                "samplesPerSec": finite_or_none(rate),
            },
        )
        return True

    def report(
        self,
        reward: Optional[float],
        metrics: Optional[Mapping[str, Optional[float]]] = None,
        *,
        train_loss: Optional[float] = None,
        timings_ms: Optional[Mapping[str, float]] = None,
        loss_stats: Optional[Mapping[str, float]] = None,
    ) -> None:
        """Send the ``result``; for a train task, first serialize and hold the trained state.

        A train task needs a finite ``reward`` (the validation metric); a NaN, infinite or
        missing one is reported as a failure (``ok: false``, ``reward: null``). For an
        evaluate task ``reward`` may be ``None``. ``metrics`` values that are NaN are
        sent as null. ``timings_ms`` is merged with the session's own ``load``, ``pack``
        and ``task`` timings. ``loss_stats``: how the searched loss acted on the epoch's
        examples, :meth:`amlfs.loss.LossStats.summary` (``examples``, ``flooredShare``,
        ``deadShare``, ``meanC``, ``tDeadShare``, ``meanTSlope``), sent as ``lossStats``;
        ``None`` (a loss that was not measured) sends nothing. A malformed one raises
        ``ValueError`` naming the field, before anything is sent.
        """
        self._session.check_open()
        self._require_open()
        value = finite_or_none(reward) if reward is not None else None
        if self.is_train and value is None:
            text = "missing" if reward is None else str(float(reward))
            self.fail(f"reward is {text} (a train task needs a finite validation reward)", metrics=metrics)
            return
        stats = None if loss_stats is None else loss_stats_fields(loss_stats)
        timings = self._timings(timings_ms)
        if self.is_train:
            timings["pack"] = self._session.hold_trained(self.id, self.start_epoch + 1)
        timings["task"] = (time.monotonic() - self._started) * 1000.0
        self._send_result(True, value, metrics, train_loss, timings, None, stats)

    def fail(self, reason: str, *, metrics: Optional[Mapping[str, Optional[float]]] = None) -> None:
        """Send ``result {ok: false, reason}``; nothing is held. The worker stays up."""
        self._require_open()
        timings = self._timings(None)
        timings["task"] = (time.monotonic() - self._started) * 1000.0
        log.warning("task %s failed: %s", self.id, reason)
        self._send_result(False, None, metrics, None, timings, str(reason)[:4096] or "failed")

    def __enter__(self) -> "Task":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or isinstance(exc, (SessionClosed, ConfigError)) or not isinstance(exc, Exception):
            return False  # a ConfigError ends the session, not only this task (Session.__exit__)
        if self.done:
            log.error("exception after task %s was reported: %r", self.id, exc)
            return False
        if isinstance(exc, TaskFailed):
            reason = str(exc)
        else:
            reason = f"{type(exc).__name__}: {exc}"
            log.error("task %s raised:\n%s", self.id, "".join(traceback.format_exception(exc_type, exc, tb)).rstrip())
        self.fail(reason)
        return True

    def _timings(self, given: Optional[Mapping[str, float]]) -> Dict[str, float]:
        timings: Dict[str, float] = {}
        for name, value in (given or {}).items():
            value = float(value)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"Expected timings_ms[{name!r}] to be a non-negative number, got {value}")
            timings[str(name)] = value
        timings["load"] = self._load_ms
        return timings

    def _require_open(self) -> None:
        if self.done:
            raise RuntimeError(f"task {self.id} was already reported")

    def _send_result(self, ok, reward, metrics, train_loss, timings, reason, loss_stats=None) -> None:
        fields: Dict[str, Any] = {
            "taskId": self.id,
            "ok": ok,
            "reward": reward,
            "trainLoss": finite_or_none(train_loss),
            "metrics": {str(k): finite_or_none(v) for k, v in (metrics or {}).items()},
            "timingsMs": timings,
        }
        if reason is not None:
            fields["reason"] = reason
        if loss_stats is not None:
            fields["lossStats"] = loss_stats
        self.done = True
        self._session.send_result(fields)


def loss_stats_fields(stats: Mapping[str, float]) -> Dict[str, Any]:
    """The ``lossStats`` of a ``result`` from a :meth:`LossStats.summary`: exactly its six fields,
    ``examples`` an integer >= 0, the shares in ``[0, 1]``, the means finite; ``ValueError``
    naming the field otherwise."""
    if not isinstance(stats, Mapping):
        raise ValueError(f"Expected `loss_stats` to be a mapping (LossStats.summary()), got {type(stats).__name__}")
    missing = [name for name in LOSS_STATS_FIELDS if name not in stats]
    extra = sorted(str(name) for name in stats if name not in LOSS_STATS_FIELDS)
    if missing or extra:
        raise ValueError(f"Expected `loss_stats` to have the fields {', '.join(LOSS_STATS_FIELDS)}; "
                         f"missing {missing}, unknown {extra}")
    fields: Dict[str, Any] = {}
    for name in LOSS_STATS_FIELDS:
        value = float(stats[name])
        if not math.isfinite(value):
            raise ValueError(f"Expected `loss_stats[{name!r}]` to be finite, got {value}")
        if name == "examples":
            if value < 0 or value != int(value):
                raise ValueError(f"Expected `loss_stats['examples']` to be an integer >= 0, got {stats[name]!r}")
            fields[name] = int(value)
        elif name.endswith("Share"):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Expected `loss_stats[{name!r}]` in [0, 1], got {value}")
            fields[name] = value
        else:
            fields[name] = value
    return fields
