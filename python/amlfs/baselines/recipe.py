"""What the built-in worker drives: a ``Recipe`` per baseline, built from the experiment.

A recipe owns the model, its optimizer and LR scheduler (what a checkpoint holds), its
data, and knows how to train one epoch with a searched loss and how to evaluate. The
built-in worker only calls this interface, so it never branches on the baseline.
"""
from __future__ import annotations

import copy
import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

from ..task_errors import NonFiniteLoss, TaskFailed
from ..training_task import TrainingTask


@dataclass(frozen=True)
class EpochStats:
    """One training epoch: mean training loss over samples, steps and samples seen, wall time."""

    mean_loss: float
    steps: int
    samples: int
    train_ms: float


@dataclass(frozen=True)
class SoftmaxBranch:
    """One softmax branch that the searched loss replaces, as the loss sees it: ``cosine [N, C]``,
    ``scale`` (a number, or ``[N, C]`` / broadcastable for a plain linear head) and ``target [N]``.
    ``cosine * scale`` are the branch's logits."""

    cosine: torch.Tensor
    scale: Any
    target: torch.Tensor


class Recipe(ABC):
    """A baseline's model, optimizer recipe and data pipeline, driven task by task.

    Attributes:
        model, optimizer, scheduler: attached to the worker session (checkpointed).
        reward_metric: key of :meth:`evaluate`'s result used as the reward by default.
        reward_metrics: the keys a config may name as ``reward.metric`` (``proto/catalog.json``).
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Optional[Any]
    reward_metric: str
    reward_metrics: Tuple[str, ...]

    @abstractmethod
    def dataset_sizes(self) -> Dict[str, int]:
        """``{"train", "val", "test"}`` sample counts."""

    @abstractmethod
    def initialize(self, seed: int) -> None:
        """Rebuild the initial weights from ``seed`` and reset optimizer and scheduler (``initRequest``)."""

    @abstractmethod
    def train_epoch(self, task: TrainingTask, loss_fn: torch.nn.Module) -> EpochStats:
        """Train one epoch with ``loss_fn`` (theta already set); all randomness (data order, augmentation,
        and through :func:`seed_global_rng` dropout) follows from ``task.generator()``.

        Calls ``task.progress`` as it goes; raises :class:`NonFiniteLoss` when the loss
        is NaN or infinite. Steps the LR scheduler once at the end, or once per iteration
        for a recipe whose schedule is in iterations (``cosface``).
        """

    @abstractmethod
    def softmax_branches(self, count: int) -> List[SoftmaxBranch]:
        """Every softmax branch of the model (training mode) on the first ``count`` training samples,
        with evaluation preprocessing: what the searched loss replaces, for the smoke tests."""

    @abstractmethod
    def evaluate(self, split: str) -> Dict[str, float]:
        """Metrics of the current model on ``split`` (``"val"`` or ``"test"``), including ``reward_metric``."""


class EpochLoop:
    """The bookkeeping of one training epoch: each :meth:`step` checks the loss, takes one optimizer
    step, reports progress; :meth:`stats` gives the :class:`EpochStats` (mean loss over samples).

    Under a process group (a worker started by ``torchrun``, :mod:`amlfs.worker.group`) every
    rank runs the same loop on the same batches: :meth:`shard` keeps this rank's contiguous
    slice of each batch, and :meth:`step` all-reduces the gradients, weighted by shard size,
    before the optimizer step. With ``n_r`` samples on rank ``r`` and ``N = sum n_r``, the
    gradient of rank ``r``'s mean loss is ``(1/n_r) sum_{i in r} g_i``, so
    ``sum_r n_r grad_r / N = (1/N) sum_i g_i``: the full batch's gradient, as one process would
    compute it (batch norm aside: its statistics are per shard). Every rank then applies the
    same update to the same weights, so they stay identical. This is what
    ``DistributedDataParallel`` computes, done here in one place because the recipes call model
    parts (``model.features``, ``model.branch``) that a DDP wrapper's ``forward`` would not see.
    """

    def __init__(self, task: TrainingTask, optimizer: torch.optim.Optimizer, steps: int):
        self.task, self.optimizer, self.steps = task, optimizer, steps
        self.started = time.monotonic()
        self.done = self.seen = 0
        self.loss_sum = 0.0
        self.world_size, self.rank = _group()

    def shard(self, *tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """This rank's contiguous slice (dim 0) of each batch tensor ``[N, ...]``; all of them without a group.

        Raises :class:`TaskFailed` when the batch has fewer samples than the group has ranks.
        """
        if self.world_size == 1:
            return tensors
        size = int(tensors[0].shape[0])
        if size < self.world_size:
            raise TaskFailed(f"a batch of {size} samples cannot be shared by {self.world_size} ranks "
                             "(use a batch size of at least the number of processes per worker)")
        return tuple(torch.tensor_split(t, self.world_size)[self.rank] for t in tensors)

    def step(self, loss: torch.Tensor, batch_size: int) -> None:
        """Backward and step on ``loss`` (the mean over this rank's ``batch_size`` samples);
        :class:`NonFiniteLoss` when it is NaN or infinite, before any parameter changes (under a
        group: when the loss of the whole batch is, on every rank at once)."""
        self.done += 1
        self.optimizer.zero_grad(set_to_none=True)
        if self.world_size == 1:
            value = float(loss.detach())
            _check_finite(value, self.done)
            loss.backward()
        else:
            loss.backward()
            value, batch_size = self._all_reduce(float(loss.detach()), batch_size)
            _check_finite(value, self.done)
        self.optimizer.step()
        self.loss_sum += value * batch_size
        self.seen += int(batch_size)
        self.task.progress(self.done, self.steps, value, samples=self.seen)

    def _all_reduce(self, value: float, batch_size: int) -> Tuple[float, int]:
        """Gradients weighted by shard size, the shard's loss sum and size, summed over ranks in one
        collective; leaves the full batch's mean gradient in ``.grad``, returns its mean loss and size."""
        import torch.distributed as dist

        grads = [p.grad for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]
        device = grads[0].device if grads else torch.device("cpu")
        tail = torch.tensor([float(batch_size), value * batch_size], dtype=torch.float64)
        flat = torch.cat([g.detach().reshape(-1).double() * batch_size for g in grads] + [tail.to(device)])
        dist.all_reduce(flat)
        total = float(flat[-2])
        offset = 0
        for g in grads:
            count = g.numel()
            g.copy_((flat[offset : offset + count] / total).view_as(g))
            offset += count
        return float(flat[-1]) / total, int(round(total))

    def stats(self) -> EpochStats:
        return EpochStats(mean_loss=self.loss_sum / max(self.seen, 1), steps=self.done, samples=self.seen,
                          train_ms=(time.monotonic() - self.started) * 1000.0)


def _group() -> Tuple[int, int]:
    """``(world size, rank)`` of the default process group; ``(1, 0)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _check_finite(value: float, step: int) -> None:
    if not math.isfinite(value):
        raise NonFiniteLoss(f"loss is {'NaN' if math.isnan(value) else 'infinite'} at step {step}")


def seed_global_rng(generator: torch.Generator) -> None:
    """Seed torch's global generators (dropout, and any op without a ``generator`` argument) from the
    task's ``generator``, so that a task gives the same trained state whatever the worker ran before it."""
    torch.manual_seed(int(torch.randint(0, 2**62, (), generator=generator)))


@dataclass(frozen=True)
class TrainingStart:
    """The optimizer's learning rates and the scheduler's state at construction, which
    ``initialize(seed)`` restores (with fresh weights from the seed)."""

    lrs: List[float]
    scheduler_state: Optional[Dict[str, Any]]

    @classmethod
    def of(cls, optimizer: torch.optim.Optimizer, scheduler) -> "TrainingStart":
        state = copy.deepcopy(scheduler.state_dict()) if scheduler is not None else None
        return cls([group["lr"] for group in optimizer.param_groups], state)

    def restore(self, seed: int, model: torch.nn.Module, make_model: Callable[[], torch.nn.Module],
                optimizer: torch.optim.Optimizer, scheduler) -> None:
        """Weights of ``make_model()`` under ``torch.manual_seed(seed)``, empty optimizer state, the start LRs."""
        torch.manual_seed(seed)
        model.load_state_dict(make_model().state_dict())
        optimizer.state.clear()
        for group, lr in zip(optimizer.param_groups, self.lrs):
            group["lr"] = lr
        if scheduler is not None:
            scheduler.load_state_dict(copy.deepcopy(self.scheduler_state))
