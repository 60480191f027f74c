"""Pack and unpack the training state (model, optimizer, LR scheduler, epoch counter).

Layout of a checkpoint (safetensors, docs/protocol.md):

- tensors ``model/<state_dict key>`` (parameters and buffers) and
  ``optimizer/<param index>/<state key>`` (momentum buffers, Adam moments, ...);
- metadata strings ``amlfs.format`` (``"1"``), ``epoch`` (training epochs completed in
  this state), ``optimizer.param_groups`` (JSON of the groups, parameters as indices),
  ``optimizer.scalars`` (JSON of the non-tensor per-parameter state, e.g. a float
  ``step``) and ``scheduler`` (JSON of the scheduler's ``state_dict``); ``null`` when no
  optimizer or scheduler is attached.

Unpacking is strict: a key present on one side only is an error naming it. Nothing is
unpickled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch
from torch import nn

from . import jsonable
from .errors import CheckpointError
from .safetensors_io import deserialize, read_metadata, serialize, sha256_hex

FORMAT = "1"
_METADATA_KEYS = ("amlfs.format", "epoch", "optimizer.param_groups", "optimizer.scalars", "scheduler")


@dataclass(frozen=True)
class PackedState:
    """A serialized training state: safetensors ``data``, its ``sha256`` and ``epoch`` counter."""

    data: bytes
    sha256: str
    epoch: int

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def pack_state(
    model: nn.Module,
    optimizer: Optional[torch.optim.Optimizer] = None,
    scheduler: Optional[Any] = None,
    epoch: int = 0,
) -> PackedState:
    """Serialize ``model`` (parameters and buffers), ``optimizer``, ``scheduler`` and ``epoch``.

    Tensors are copied to CPU; the objects are not modified.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(f"Expected `epoch` to be a non-negative integer, got {epoch!r}")
    tensors: Dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"`model/{key}`: state_dict entry is a {type(value).__name__}, not a tensor")
        tensors[f"model/{key}"] = value
    metadata = {"amlfs.format": FORMAT, "epoch": str(epoch)}

    if optimizer is None:
        metadata["optimizer.param_groups"] = "null"
        metadata["optimizer.scalars"] = "null"
    else:
        state = optimizer.state_dict()
        scalars: Dict[str, Dict[str, Any]] = {}
        for index, entries in state["state"].items():
            for name, value in entries.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optimizer/{index}/{name}"] = value
                else:
                    scalars.setdefault(str(index), {})[name] = value
        metadata["optimizer.param_groups"] = jsonable.dumps(state["param_groups"], "optimizer.param_groups")
        metadata["optimizer.scalars"] = jsonable.dumps(scalars, "optimizer.scalars")

    metadata["scheduler"] = "null" if scheduler is None else jsonable.dumps(scheduler.state_dict(), "scheduler")
    data = serialize(_for_saving(tensors), metadata)
    return PackedState(data=data, sha256=sha256_hex(data), epoch=epoch)


def unpack_state(
    data: bytes,
    model: nn.Module,
    optimizer: Optional[torch.optim.Optimizer] = None,
    scheduler: Optional[Any] = None,
) -> int:
    """Load a :func:`pack_state` checkpoint into existing objects; returns its ``epoch``.

    Tensors are copied onto the devices of the model's parameters (the optimizer's
    ``load_state_dict`` moves its state next to the parameters).
    """
    metadata = read_metadata(data)
    _check_keys("metadata", set(metadata), set(_METADATA_KEYS))
    if metadata["amlfs.format"] != FORMAT:
        raise CheckpointError(f"`amlfs.format`: expected {FORMAT!r}, got {metadata['amlfs.format']!r}")
    try:
        epoch = int(metadata["epoch"])
    except ValueError as error:
        raise CheckpointError(f"`epoch`: expected an integer, got {metadata['epoch']!r}") from error

    tensors = deserialize(data)
    model_part = {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}
    optimizer_part = {k: v for k, v in tensors.items() if k.startswith("optimizer/")}
    stray = sorted(set(tensors) - {f"model/{k}" for k in model_part} - set(optimizer_part))
    if stray:
        raise CheckpointError(f"unexpected tensor `{stray[0]}` in the checkpoint (expected model/... or optimizer/...)")

    _load_model(model, model_part)
    _load_optimizer(optimizer, optimizer_part, metadata)
    _load_scheduler(scheduler, metadata["scheduler"])
    return epoch


def model_tensors(data: bytes) -> Dict[str, torch.Tensor]:
    """The ``model/`` tensors of a :func:`pack_state` checkpoint, keyed as the model's ``state_dict``
    (for using a trained model without its optimizer, e.g. a run's ``final/model.safetensors``)."""
    metadata = read_metadata(data)
    if metadata.get("amlfs.format") != FORMAT:
        raise CheckpointError(f"`amlfs.format`: expected {FORMAT!r}, got {metadata.get('amlfs.format')!r}")
    return {k[len("model/"):]: v for k, v in deserialize(data).items() if k.startswith("model/")}


def load_model_state(model: nn.Module, tensors: Dict[str, torch.Tensor]) -> None:
    """Load :func:`model_tensors` into ``model``: every key and shape must match (errors name them)."""
    _load_model(model, tensors)


def _for_saving(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """CPU, contiguous, detached tensors; a tensor sharing storage with an earlier one is cloned."""
    out: Dict[str, torch.Tensor] = {}
    seen = set()
    for key in sorted(tensors):
        tensor = tensors[key].detach().to("cpu").contiguous()
        pointer = tensor.untyped_storage().data_ptr()
        if pointer in seen and tensor.numel() > 0:
            tensor = tensor.clone()
        seen.add(pointer)
        out[key] = tensor
    return out


def _check_keys(where: str, given: set, expected: set) -> None:
    missing = sorted(expected - given)
    if missing:
        raise CheckpointError(f"{where}: the checkpoint lacks `{missing[0]}`" + _more(missing))
    unexpected = sorted(given - expected)
    if unexpected:
        raise CheckpointError(f"{where}: unexpected `{unexpected[0]}` in the checkpoint" + _more(unexpected))


def _more(keys) -> str:
    return f" (and {len(keys) - 1} more: {', '.join(keys[1:4])}{', ...' if len(keys) > 4 else ''})" if len(keys) > 1 else ""


def _load_model(model: nn.Module, state: Dict[str, torch.Tensor]) -> None:
    current = model.state_dict()
    _check_keys("model", {f"model/{k}" for k in state}, {f"model/{k}" for k in current})
    for key in current:  # in the model's order, so the first mismatch reported is stable
        tensor = state[key]
        if tuple(tensor.shape) != tuple(current[key].shape):
            raise CheckpointError(
                f"`model/{key}`: shape {list(tensor.shape)} in the checkpoint, {list(current[key].shape)} in the model"
            )
    model.load_state_dict(state, strict=True)


def _load_optimizer(optimizer, tensors: Dict[str, torch.Tensor], metadata: Dict[str, str]) -> None:
    groups = jsonable.loads(metadata["optimizer.param_groups"], "optimizer.param_groups")
    scalars = jsonable.loads(metadata["optimizer.scalars"], "optimizer.scalars")
    if optimizer is None:
        if groups is not None or tensors:
            raise CheckpointError("`optimizer.param_groups`: the checkpoint has optimizer state but no optimizer is attached")
        return
    if groups is None:
        raise CheckpointError("`optimizer.param_groups`: the checkpoint has no optimizer state but an optimizer is attached")
    indices = {i for group in groups for i in group["params"]}
    state: Dict[int, Dict[str, Any]] = {}
    for key, tensor in tensors.items():
        parts = key.split("/")
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) not in indices:
            raise CheckpointError(f"unexpected tensor `{key}` in the checkpoint (no such optimizer parameter)")
        state.setdefault(int(parts[1]), {})[parts[2]] = tensor
    for index, entries in (scalars or {}).items():
        if not index.isdigit() or int(index) not in indices:
            raise CheckpointError(f"`optimizer.scalars`: unexpected parameter index `{index}`")
        state.setdefault(int(index), {}).update(entries)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as error:
        raise CheckpointError(f"`optimizer.param_groups`: does not fit the attached optimizer ({error})") from error


def _load_scheduler(scheduler, text: str) -> None:
    state = jsonable.loads(text, "scheduler")
    if scheduler is None:
        if state is not None:
            raise CheckpointError("`scheduler`: the checkpoint has scheduler state but no scheduler is attached")
        return
    if state is None:
        raise CheckpointError("`scheduler`: the checkpoint has no scheduler state but a scheduler is attached")
    _check_keys("scheduler", {f"scheduler.{k}" for k in state}, {f"scheduler.{k}" for k in scheduler.state_dict()})
    scheduler.load_state_dict(state)
