"""The public worker API: connect to the controller, attach the training state, run tasks.

Any training script can be driven by the AM-LFS controller with it (the built-in worker,
``python -m amlfs.worker``, uses nothing else)::

    from amlfs.worker import connect

    with connect(adapter="my-model", dataset_sizes={"train": n, "val": m, "test": k}) as session:
        session.attach(model=model, optimizer=optimizer, scheduler=scheduler)
        loss_fn = amlfs.SearchedSoftmaxLoss(session.experiment["search"]["M"])
        for task in session.tasks():
            with task:
                loss_fn.set_theta(task.theta)
                ...                                  # train one epoch, task.progress(step, steps, loss)
                task.report(reward=top1, metrics={"top1": top1})

A problem of the config or the data (a missing folder, a corrupt file) is not a lost worker:
raise :class:`ConfigError` inside the block (or call :meth:`Session.fail_config`) and the
controller stops the run at once instead of retrying it on replacement workers.

The endpoint, worker id and run id come from the arguments or from ``AMLFS_CONNECT``,
``AMLFS_WORKER_ID`` and ``AMLFS_RUN_ID`` (set by the launcher); see docs/protocol.md.
"""
from __future__ import annotations

import copy
import logging
import queue
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, Mapping, Optional

import torch

from ..checkpoint import CheckpointError, pack_state, unpack_state
from .errors import ConfigError, ControllerLost, SessionClosed, ShutdownRequested, WorkerError
from .hello import checked_sizes, hello_fields
from .logs import configure_logging
from .lost import exit_soon
from .settings import Settings, resolve_settings
from .store import StateStore
from .task import Task
from .transport import Event, Transport

log = logging.getLogger("amlfs.worker")


def connect(
    adapter: str,
    dataset_sizes: Optional[Mapping[str, int]] = None,
    *,
    endpoint: Optional[str] = None,
    worker_id: Optional[str] = None,
    run_id: Optional[str] = None,
    device: Optional[str] = None,
    threads: Optional[int] = None,
    startup_timeout_s: Optional[float] = None,
    exit_on_lost: bool = True,
    progress_interval_s: float = 0.5,
    curve_keys: Optional[str] = None,
) -> "Session":
    """Connect to the controller, send ``hello`` and wait for ``welcome``.

    Args:
        adapter: name of what this worker runs (a baseline name, or your own), sent in
            ``hello``.
        dataset_sizes: ``{"train", "val", "test"}`` sample counts for ``hello``; ``None``
            sends zeros (not known before the experiment arrives, as for the built-in
            worker).
        endpoint, worker_id, run_id: default to ``AMLFS_CONNECT``, ``AMLFS_WORKER_ID``,
            ``AMLFS_RUN_ID``.
        device: ``"auto"`` (default, or ``AMLFS_DEVICE``), ``"cpu"`` or ``"cuda:N"``;
            resolved into :attr:`Session.device`.
        threads: ``torch.set_num_threads`` (default ``AMLFS_THREADS``; unset: torch's own).
        startup_timeout_s: how long to wait for ``welcome`` (default 60 s, or
            ``AMLFS_STARTUP_TIMEOUT_MS``).
        exit_on_lost: when the controller goes silent past ``heartbeatTimeoutMs`` (or never
            welcomes), end the process (exit status 4, or 3 without welcome) at most
            2 s after the loss even if the training thread is busy, so a killed
            controller leaves no orphans. With ``False`` the session only raises
            :class:`ControllerLost` at the next call.
        progress_interval_s: least time between two ``progress`` messages.
        curve_keys: the CURVE key file the controller wrote for this worker (default
            ``AMLFS_CURVE_KEYS``; none: no CURVE, for ipc or loopback runs).

    Raises:
        ControllerLost: no ``welcome`` in time. WorkerError: bad settings, or the
        controller rejected ``hello``.
    """
    settings = resolve_settings(endpoint, worker_id, run_id, device, threads, startup_timeout_s, curve_keys)
    configure_logging(settings.worker_id)
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    session = Session(
        settings, adapter, dataset_sizes, exit_on_lost=exit_on_lost, progress_interval_s=progress_interval_s
    )
    session._open()
    return session


class Session:
    """A connected worker. Create it with :func:`connect`; use it as a context manager.

    Attributes:
        worker_id, run_id, endpoint: where it is connected and as whom.
        device: the ``torch.device`` to train on. threads: ``torch.get_num_threads()``.
        adapter: the name sent in ``hello``.
        heartbeat_interval_ms, heartbeat_timeout_ms: from ``welcome``.
    """

    def __init__(
        self,
        settings: Settings,
        adapter: str,
        dataset_sizes: Optional[Mapping[str, int]] = None,
        *,
        exit_on_lost: bool = True,
        progress_interval_s: float = 0.5,
    ):
        self.worker_id = settings.worker_id
        self.run_id = settings.run_id
        self.endpoint = settings.endpoint
        self.device = settings.device
        self.threads = torch.get_num_threads()
        self.adapter = adapter
        self.progress_interval_s = progress_interval_s
        self.heartbeat_interval_ms: Optional[int] = None
        self.heartbeat_timeout_ms: Optional[int] = None
        self._dataset_sizes = checked_sizes(dataset_sizes)
        self._exit_on_lost = exit_on_lost
        self._store = StateStore()
        self._transport = Transport(
            settings.endpoint,
            settings.worker_id,
            settings.run_id,
            self._store,
            startup_timeout_s=settings.startup_timeout_s,
            on_lost=self._on_lost,
            chunk_bytes=settings.chunk_bytes,
            window_chunks=settings.window_chunks,
            transfer_timeout_s=settings.transfer_timeout_s,
            curve=settings.curve,
        )
        self._experiment: Optional[Dict[str, Any]] = None
        self._deferred: Deque[Any] = deque()
        self._model: Optional[torch.nn.Module] = None
        self._optimizer = None
        self._scheduler = None
        self._initialize: Optional[Callable[[int], None]] = None
        self._current: Optional[Task] = None
        self._closed = False
        self._config_failed = False

    # ---- public -----------------------------------------------------------------------

    @property
    def experiment(self) -> Dict[str, Any]:
        """The frozen experiment config from ``welcome`` (a copy: changing it changes nothing)."""
        return copy.deepcopy(self._experiment)

    def attach(
        self,
        model: torch.nn.Module,
        optimizer: Optional[torch.optim.Optimizer] = None,
        scheduler: Optional[Any] = None,
        initialize: Optional[Callable[[int], None]] = None,
    ) -> None:
        """Name the objects a checkpoint holds; they are loaded in place before each task.

        Args:
            model: parameters and buffers are checkpointed.
            optimizer: its state (momentum, ...) and param groups are checkpointed.
            scheduler: an LR scheduler with ``state_dict``/``load_state_dict``.
            initialize: called with the ``initRequest`` seed before the initial state is
                uploaded, to (re)build the weights from that seed; without it the
                attached state is uploaded as it is.
        """
        if not isinstance(model, torch.nn.Module):
            raise WorkerError(f"Expected `model` to be a torch.nn.Module, got {type(model).__name__}")
        self._model, self._optimizer, self._scheduler, self._initialize = model, optimizer, scheduler, initialize

    def tasks(self) -> Iterator[Task]:
        """Yield tasks until ``shutdown``, with each task's start state loaded.

        Answers ``initRequest`` (packs and uploads the attached state), downloads start
        states it does not hold, seeds torch with the task seed. A task whose start state
        cannot be loaded is failed here and not yielded. A task left without
        :meth:`Task.report` or :meth:`Task.fail` is failed when the loop moves on.

        Raises :class:`ControllerLost` when the controller goes silent.
        """
        if self._model is None:
            raise WorkerError("call session.attach(model=..., ...) before session.tasks()")
        while True:
            item = self._next()
            if isinstance(item, Event):
                if isinstance(item.error, ShutdownRequested):
                    return
                raise item.error
            kind = item.type
            if kind == "initRequest":
                self._answer_init(item.header)
            elif kind == "task":
                try:
                    task = self._begin(item.header)
                except ShutdownRequested:
                    return
                if task is None:
                    continue
                self._current = task
                # Left by break or an exception, the generator is closed here (GeneratorExit);
                # the session's __exit__ or close() then reports the task, with the exception.
                yield task
                if not task.done and self._open_for_results():
                    task.fail("the task ended without task.report() or task.fail()")
                self._current = None
            else:
                log.warning("ignored %s (msgId %s) outside a request", kind, item.header.get("msgId"))

    def fail_config(self, reason: str, timeout_s: float = 5.0) -> bool:
        """Tell the controller that this experiment cannot run with its config or data.

        Sends ``fatal {kind: "config", reason}`` (``reason`` cut to 4,096 characters) and waits
        up to ``timeout_s`` until it was handed to ZeroMQ; closing the session afterwards lets
        it leave before the socket closes (linger). The controller stops the whole run at
        once: no replacement worker, no retry elsewhere, every worker told to shut down, and
        ``amlfs`` exits 2 with ``reason`` in its last line. Then leave the ``with`` block and
        end the process (status 2 by convention). Raising :class:`ConfigError` inside the
        block does the same.

        Returns whether the message was queued in time; a second call, or one after the
        controller said ``shutdown`` or went silent, sends nothing and returns False.
        """
        if self._config_failed or not self._open_for_results():
            return False
        self._config_failed = True
        text = str(reason).strip() or "the worker reported a config error without a reason"
        log.error("config error, reported to the controller: %s", text)
        self._transport.send("fatal", {"kind": "config", "reason": text[:4096]})
        return self._transport.flush(timeout_s)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every message sent so far was handed to ZeroMQ; whether it was in time."""
        return self._transport.flush(timeout_s)

    def close(self) -> None:
        """Let queued messages leave, then close the socket. Idempotent."""
        if self._closed:
            return
        self._closed = True
        task = self._current
        if task is not None and not task.done and self._open_for_results():
            task.fail("the worker stopped before task.report()")
        if self._transport.lost is None:
            self._transport.flush(5.0)
        self._transport.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if isinstance(exc, ConfigError):  # first: the task's failure below is not the cause
            self.fail_config(str(exc))
        task = self._current
        if task is not None and not task.done and isinstance(exc, BaseException) and not isinstance(exc, SessionClosed):
            task.fail(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        self.close()
        return isinstance(exc, ShutdownRequested)

    # ---- for Task ---------------------------------------------------------------------------

    def check_open(self) -> None:
        """Raise the :class:`SessionClosed` that ended the session (controller lost, or ``shutdown``), if any."""
        ended = self._transport.lost or self._transport.shutdown
        if ended is not None:
            raise ended

    def send_progress(self, fields: Dict[str, Any]) -> None:
        """Send a task's ``progress`` message (:meth:`Task.progress` builds the fields)."""
        self._transport.send("progress", fields)

    def send_result(self, fields: Dict[str, Any]) -> None:
        """Send a task's ``result`` message (:meth:`Task.report` and :meth:`Task.fail` build the fields)."""
        self._transport.send("result", fields)

    def hold_trained(self, task_id: str, epoch: int) -> float:
        """Pack the attached objects as the trained state of ``task_id`` (``epoch`` epochs completed)
        and hold it for the controller; returns the milliseconds it took."""
        started = time.monotonic()
        self._store.hold(task_id, pack_state(self._model, self._optimizer, self._scheduler, epoch=epoch))
        return (time.monotonic() - started) * 1000.0

    # ---- internals ------------------------------------------------------------------------

    def _open_for_results(self) -> bool:
        return self._transport.lost is None and self._transport.shutdown is None

    def _open(self) -> None:
        self._transport.start()
        hello_id = self._transport.send("hello", hello_fields(self.device, self.threads, self.adapter, self._dataset_sizes), expect_reply=True)
        log.info("connecting to %s as %s (run %s, device %s)", self.endpoint, self.worker_id, self.run_id, self.device)
        try:
            while True:
                item = self._next()
                if isinstance(item, Event):
                    raise item.error
                if item.type == "welcome":
                    break
                if item.type == "reject" and item.header.get("rejectedMsgId") == hello_id:
                    raise WorkerError(f"the controller rejected hello: {item.header['reason']}")
                self._deferred.append(item)
        except BaseException:
            self._transport.done_waiting(hello_id)
            self.close()
            raise
        self._transport.done_waiting(hello_id)
        header = item.header
        self._experiment = header["experiment"]
        self.heartbeat_interval_ms = header["heartbeatIntervalMs"]
        self.heartbeat_timeout_ms = header["heartbeatTimeoutMs"]
        log.info("welcome: heartbeat every %d ms, timeout %d ms", self.heartbeat_interval_ms, self.heartbeat_timeout_ms)

    def _next(self) -> Any:
        """The next message or event for this thread (deferred ones first)."""
        if self._deferred:
            return self._deferred.popleft()
        while True:
            try:
                return self._transport.inbox.get(timeout=0.5)
            except queue.Empty:
                ended = self._transport.lost or self._transport.shutdown
                if ended is not None:  # its event was consumed by an earlier call
                    return Event(ended)

    def _answer_init(self, header: Dict[str, Any]) -> None:
        """Build the initial state from the seed and upload it; a failure is answered with ``reject``."""
        seed = header["seed"]
        try:
            if self._initialize is not None:
                self._initialize(seed)
            packed = pack_state(self._model, self._optimizer, self._scheduler, epoch=0)
        except Exception as error:  # the run goes on: the controller can ask another worker
            reason = f"cannot build the initial state for seed {seed}: {type(error).__name__}: {error}"
            log.exception("%s", reason)
            self._transport.send("reject", {"reason": reason[:4096], "rejectedMsgId": header["msgId"]})
            return
        self._store.add_start(packed.sha256, packed.data)
        self._transport.upload(packed, reply_to=header["msgId"])
        log.info("initial state %s (%d bytes) built for seed %d; uploading", packed.sha256[:12], packed.size_bytes, seed)

    def _begin(self, header: Dict[str, Any]) -> Optional[Task]:
        started = time.monotonic()
        placeholder = Task(self, header, start_epoch=-1, load_ms=0.0, started=started)
        try:
            data = self._store.start(header["start"]) or self._download(header["start"])
            start_epoch = unpack_state(data, self._model, self._optimizer, self._scheduler)
        except (CheckpointError, _DownloadFailed) as error:
            placeholder.fail(f"start state {header['start'][:12]}: {error}")
            return None
        if header["kind"] == "train" and start_epoch != header["epoch"]:
            log.warning("task %s is for epoch %d, its start state has trained %d epochs", header["taskId"],
                        header["epoch"], start_epoch)
        torch.manual_seed(header["seed"])
        load_ms = (time.monotonic() - started) * 1000.0
        return Task(self, header, start_epoch=start_epoch, load_ms=load_ms, started=started)

    def _download(self, sha256: str) -> bytes:
        msg_id = self._transport.send("checkpointRequest", {"sha256": sha256}, expect_reply=True)
        try:
            while True:
                item = self._transport.inbox.get()
                if isinstance(item, Event):
                    raise item.error
                header = item.header
                if header.get("replyTo") == msg_id and item.error is not None:
                    raise _DownloadFailed(f"bad checkpoint from the controller: {item.error}")
                if item.type == "reject" and header.get("rejectedMsgId") == msg_id:
                    raise _DownloadFailed(f"the controller rejected the request: {header['reason']}")
                if item.type == "checkpoint" and header.get("replyTo") == msg_id:
                    if header["sha256"] != sha256:
                        raise _DownloadFailed(f"asked for {sha256}, the controller sent {header['sha256']}")
                    data = item.payload[0]
                    self._store.add_start(sha256, data)
                    return data
                self._deferred.append(item)
        finally:
            self._transport.done_waiting(msg_id)

    def _on_lost(self, error: ControllerLost) -> None:
        if self._exit_on_lost:
            exit_soon(error)


class _DownloadFailed(WorkerError):
    pass
