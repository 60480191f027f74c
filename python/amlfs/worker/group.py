"""One worker spread over a process group (``torchrun``, docs/design.md, Launchers): only rank 0 talks to the controller.

``torchrun --nproc-per-node=N -m amlfs.worker --connect ...`` starts N copies of the
built-in worker with ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` set. Each joins the default
process group (gloo on CPU, NCCL on CUDA, device ``cuda:K+LOCAL_RANK`` for ``--device
cuda:K``). Rank 0, the *leader*, connects to the controller as any worker does; the others,
the *followers*, never connect. The leader hands them, over the group:

1. the experiment from ``welcome`` (they build the same recipe from it);
2. each train task's header, and the start state the controller sent (safetensors bytes, as a
   ``uint8`` tensor) when it differs from the last one handed over, so a state crosses the
   group once however many tasks start from it;
3. ``shutdown`` when the session ends.

All ranks then train the epoch together (``EpochLoop.shard``/``step`` all-reduce the
gradients, amlfs/baselines/recipe.py), and after a trained epoch sum the counts of their
searched losses (:func:`sum_loss_stats`); the leader alone evaluates, reports and uploads,
and evaluate tasks never involve the followers. Messages are a JSON header (length-prefixed
bytes) and optional bytes: nothing is unpickled.

A follower that fails, or a leader that fails inside a collective, ends its process; torchrun
then stops the whole group and the controller sees the worker exit, as for a local worker.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, NoReturn, Optional, Tuple

import torch
import torch.distributed as dist

from ..checkpoint import pack_state, unpack_state
from ..training_task import HeaderedTask
from .errors import TaskFailed, WorkerError

log = logging.getLogger("amlfs.worker")

#: How long a collective may wait. A follower idles in one between tasks (the controller may
#: keep a worker waiting for a whole epoch of other samples); a dead peer ends the group
#: sooner, through torchrun.
GROUP_TIMEOUT = datetime.timedelta(days=7)


@dataclass(frozen=True)
class Group:
    """This process's place in the group: ``rank`` of ``world_size``, ``local_rank`` on its host,
    the torch ``device`` it trains on, and the ``backend`` (``"gloo"`` or ``"nccl"``)."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str

    @property
    def is_leader(self) -> bool:
        return self.rank == 0

    @property
    def _wire_device(self) -> torch.device:
        # NCCL moves CUDA tensors only.
        return self.device if self.backend == "nccl" else torch.device("cpu")


def group_from_env(device: Optional[str], env: Optional[Dict[str, str]] = None) -> Optional[Group]:
    """The group described by torchrun's ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``; ``None`` without
    one (unset or ``WORLD_SIZE=1``). ``device``: the worker's ``--device`` (``auto``, ``cpu``,
    ``cuda:K``); under a group, rank ``r`` on a host trains on ``cuda:K+LOCAL_RANK``."""
    env = os.environ if env is None else env
    world_size = _env_int(env, "WORLD_SIZE", 1)
    if world_size <= 1:
        return None
    rank, local_rank = _env_int(env, "RANK", None), _env_int(env, "LOCAL_RANK", 0)
    if not 0 <= rank < world_size:
        raise WorkerError(f"RANK: expected an integer in [0, {world_size}), got {rank}")
    name = device or env.get("AMLFS_DEVICE") or "auto"
    if name == "auto":
        name = "cuda:0" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return Group(rank, world_size, local_rank, torch.device("cpu"), "gloo")
    if not name.startswith("cuda"):
        raise WorkerError(f'Expected the device to be "auto", "cpu" or "cuda:N", got {name!r}')
    base = int(name.split(":", 1)[1]) if ":" in name else 0
    return Group(rank, world_size, local_rank, torch.device(f"cuda:{base + local_rank}"), "nccl")


def join(group: Group) -> None:
    """Join the default process group (rendezvous at ``MASTER_ADDR:MASTER_PORT``, set by torchrun).

    First, on Linux, asks for SIGKILL when the parent (torchrun's agent) dies: torchrun starts
    each rank in its own session, out of reach of a signal to torchrun's process group, so a
    SIGKILLed torchrun would otherwise leave its ranks running.
    """
    _die_with_parent()
    if group.device.type == "cuda":
        torch.cuda.set_device(group.device)
    dist.init_process_group(group.backend, rank=group.rank, world_size=group.world_size, timeout=GROUP_TIMEOUT)
    log.info("rank %d of %d joined the %s group on %s", group.rank, group.world_size, group.backend, group.device)


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    pr_set_pdeathsig = 1
    if ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL) != 0:
        log.warning("cannot ask for a parent-death signal (errno %d): this rank may outlive torchrun", ctypes.get_errno())
    elif os.getppid() != parent:  # the parent died before the request
        os._exit(1)


_left_a_group = False


def leave() -> None:
    global _left_a_group
    if dist.is_initialized():
        dist.destroy_process_group()
        _left_a_group = True


def end_process(code: int) -> NoReturn:
    """Exit with ``code``; after :func:`leave`, without the interpreter's teardown.

    A rank that has destroyed its gloo group can abort while the interpreter exits
    (``terminate called without an active exception``, SIGABRT, after every Python frame has
    returned: a joinable native thread outlives it). Under load this happened in about one
    run in ten of the group test, and torchrun then reports the whole group as failed. So a
    process that left a group flushes its logs and streams and ends with ``os._exit``.
    """
    if not _left_a_group:
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


# ---- messages -----------------------------------------------------------------------------


def send(group: Group, header: Dict[str, Any], data: Optional[bytes] = None) -> None:
    """Leader: broadcast a JSON ``header`` and, when given, ``data``."""
    _broadcast_bytes(group, json.dumps(header).encode("utf-8"))
    if data is not None:
        _broadcast_bytes(group, data)


def receive(group: Group, with_data: Callable[[Dict[str, Any]], bool]) -> Tuple[Dict[str, Any], Optional[bytes]]:
    """Follower: the next header, and its bytes when ``with_data(header)`` says some follow."""
    header = json.loads(_broadcast_bytes(group, None).decode("utf-8"))
    return header, (_broadcast_bytes(group, None) if with_data(header) else None)


def _broadcast_bytes(group: Group, data: Optional[bytes]) -> bytes:
    """Rank 0's ``data`` on every rank: its length (int64), then the bytes (uint8)."""
    device = group._wire_device
    size = torch.tensor([len(data) if data is not None else 0], dtype=torch.int64, device=device)
    dist.broadcast(size, src=0)
    if data:
        buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device)
    else:
        buffer = torch.empty(int(size.item()), dtype=torch.uint8, device=device)
    if buffer.numel() > 0:
        dist.broadcast(buffer, src=0)
    return data if data is not None else buffer.cpu().numpy().tobytes()


def sum_loss_stats(group: Group, stats) -> None:
    """Every rank, after a trained epoch: ``stats`` (a :class:`~amlfs.loss.LossStats` that counted
    this rank's shards) becomes the count over the whole group, i.e. over the full batches.
    A collective: every rank calls it once per trained task, none after a :class:`TaskFailed`."""
    totals = stats.totals().to(group._wire_device)
    dist.all_reduce(totals)
    stats.set_totals(totals)


# ---- leader ---------------------------------------------------------------------------------


class Leader:
    """Rank 0's side: hands the experiment, train tasks and start states to the followers."""

    def __init__(self, group: Group, model: torch.nn.Module, optimizer=None, scheduler=None):
        self.group = group
        self._objects = (model, optimizer, scheduler)
        self._handed: Optional[str] = None  # sha256 of the start state the followers hold

    @staticmethod
    def send_experiment(group: Group, experiment: Dict[str, Any]) -> None:
        send(group, {"type": "experiment", "experiment": experiment})

    def start_train(self, task: HeaderedTask) -> None:
        """Before training ``task`` (its start state already loaded here): the followers load the same state."""
        fresh = task.start != self._handed
        data = pack_state(*self._objects, epoch=max(task.start_epoch, 0)).data if fresh else None
        send(self.group, {"type": "task", "header": task.header, "startEpoch": task.start_epoch, "state": fresh}, data)
        self._handed = task.start

    def shutdown(self) -> None:
        send(self.group, {"type": "shutdown"})


# ---- follower -------------------------------------------------------------------------------


class FollowerTask(HeaderedTask):
    """What a follower's recipe sees of a train task: the header's fields, as :class:`amlfs.worker.Task`
    has them, and the seeded generator; ``progress`` sends nothing (the leader reports)."""

    def progress(self, step: int, steps: int, loss: Optional[float] = None, *, samples: Optional[int] = None) -> bool:
        return False


def receive_experiment(group: Group) -> Dict[str, Any]:
    header, _ = receive(group, lambda h: False)
    if header.get("type") != "experiment":
        raise WorkerError(f"rank {group.rank}: expected the experiment from rank 0 first, got {header.get('type')!r}")
    return header["experiment"]


def follow(group: Group, model: torch.nn.Module, optimizer, scheduler,
           train: Callable[[FollowerTask], None]) -> int:
    """Follower loop: load each handed-over start state, ``train(task)`` with the leader, until
    ``shutdown``; returns the number of tasks trained.

    A :class:`TaskFailed`, which every rank raises at the same step (a non-finite loss is
    all-reduced first; a batch smaller than the group is one on every rank), is logged and the
    loop goes on, as the leader's task fails; any other exception ends the process.
    """
    held: Optional[bytes] = None
    trained = 0
    for header, data in _messages(group):
        if data is not None:
            held = data
        if held is None:
            raise WorkerError(f"rank {group.rank}: task {header['header']['taskId']} came without a start state")
        unpack_state(held, model, optimizer, scheduler)
        task = FollowerTask(header["header"], header["startEpoch"])
        torch.manual_seed(task.seed)  # as Session does before yielding a task
        try:
            train(task)
        except TaskFailed as error:
            log.warning("rank %d, task %s: %s", group.rank, task.id, error)
        trained += 1
    return trained


def _messages(group: Group) -> Iterator[Tuple[Dict[str, Any], Optional[bytes]]]:
    while True:
        header, data = receive(group, lambda h: bool(h.get("state")))
        kind = header.get("type")
        if kind == "shutdown":
            return
        if kind != "task":
            raise WorkerError(f"rank {group.rank}: unexpected message {kind!r} from rank 0")
        yield header, data


def _env_int(env, name: str, default: Optional[int]) -> int:
    text = env.get(name)
    if text is None or text == "":
        if default is None:
            raise WorkerError(f"{name} is not set (expected torchrun to set it)")
        return default
    try:
        return int(text)
    except ValueError as error:
        raise WorkerError(f"{name}: expected an integer, got {text!r}") from error
