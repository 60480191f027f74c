"""The task a recipe trains: its header, parsed once from the wire, and what training reads of it.

The controller's ``task`` message (docs/protocol.md) reaches a recipe by two roads: through
:class:`amlfs.worker.Task` on the worker that talks to the controller, and through
:class:`amlfs.worker.group.FollowerTask` on the other ranks of a process group. Both parse the
header with :meth:`TaskHeader.from_wire`, and both, like the test fakes, satisfy
:class:`TrainingTask`, the one thing ``Recipe.train_epoch`` is typed against.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Protocol, Tuple

import torch


@dataclass(frozen=True)
class TaskHeader:
    """The fields of a ``task`` message, read once.

    Attributes:
        id: task id, e.g. ``e0003-s01-a0`` or ``final-test-a0`` (``taskId``).
        kind: ``"train"`` (train one epoch with ``theta``, report the validation reward)
            or ``"evaluate"`` (report metrics of the start state on ``split``).
        epoch, sample: position in the search.
        theta: ``[a_t (M), b_t (M), a_tau (M), b_tau (M)]`` as a tuple of floats.
        M: number of intervals.
        t_scale_grad: ``"plain"`` (default) or ``"full"``, the loss option of that name
            (:func:`amlfs.searched_softmax_loss`), from the run's ``search.tScaleGrad``.
        tau_form: ``"linear"`` (default) or ``"power"``, the loss option of that name, from
            the run's ``search.space``.
        start: sha256 of the state the task starts from.
        seed: seeds ``torch`` and the data order; equal for all samples of an epoch.
        split: ``"val"`` or ``"test"``, where the reward or metrics are measured.
    """

    id: str
    kind: str
    epoch: int
    sample: int
    theta: Tuple[float, ...]
    M: int
    t_scale_grad: str
    tau_form: str
    start: str
    seed: int
    split: str

    @classmethod
    def from_wire(cls, header: Mapping[str, Any]) -> "TaskHeader":
        """From a ``task`` header that the wire schema has already checked."""
        return cls(
            id=header["taskId"],
            kind=header["kind"],
            epoch=header["epoch"],
            sample=header["sample"],
            theta=tuple(float(v) for v in header["theta"]),
            M=header["M"],
            t_scale_grad=header.get("tScaleGrad", "plain"),
            tau_form=header.get("tauForm", "linear"),
            start=header["start"],
            seed=header["seed"],
            split=header["split"],
        )

    @property
    def is_train(self) -> bool:
        return self.kind == "train"


class TrainingTask(Protocol):
    """What ``Recipe.train_epoch`` reads of a task: the seed, a generator seeded with it (data
    order, augmentation, dropout), and where to report progress."""

    @property
    def seed(self) -> int: ...

    def generator(self) -> torch.Generator: ...

    def progress(self, step: int, steps: int, loss: Optional[float] = None, *,
                 samples: Optional[int] = None) -> Any: ...


def _header_field(name: str) -> property:
    return property(lambda self: getattr(self.parsed, name), doc=f":attr:`TaskHeader.{name}`")


class HeaderedTask:
    """A task made from a ``task`` header: the header's fields as read-only attributes
    (``id``, ``kind``, ``epoch``, ``sample``, ``theta``, ``M``, ``t_scale_grad``, ``tau_form``,
    ``start``, ``seed``, ``split``), parsed once into :attr:`parsed`; ``header`` is the wire
    header as received (a group's leader hands it on to the followers); ``start_epoch`` the
    epoch counter stored in the start state (epochs completed)."""

    id = _header_field("id")
    kind = _header_field("kind")
    epoch = _header_field("epoch")
    sample = _header_field("sample")
    theta = _header_field("theta")
    M = _header_field("M")
    t_scale_grad = _header_field("t_scale_grad")
    tau_form = _header_field("tau_form")
    start = _header_field("start")
    seed = _header_field("seed")
    split = _header_field("split")

    def __init__(self, header: Mapping[str, Any], start_epoch: int):
        self.header = header
        self.parsed = TaskHeader.from_wire(header)
        self.start_epoch = start_epoch

    @property
    def is_train(self) -> bool:
        return self.parsed.is_train

    def generator(self, device: Any = "cpu") -> torch.Generator:
        """A fresh ``torch.Generator`` seeded with :attr:`seed` (shuffles, augmentation)."""
        return torch.Generator(device=device).manual_seed(self.seed)
