"""User-supplied weight files (e.g. ImageNet-pretrained ResNet-50 in torchvision's keys)."""
from __future__ import annotations

import os
from typing import Dict

import torch

from .errors import CheckpointError
from .safetensors_io import deserialize


def load_weights(path: str) -> Dict[str, torch.Tensor]:
    """Tensors of a local weight file: ``.safetensors``, or a ``.pth``/``.pt`` loaded with ``weights_only=True``.

    Nothing is downloaded; a missing file is an error naming the path.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"weight file not found: {path} (give a local path; nothing is downloaded)")
    if path.endswith(".safetensors"):
        with open(path, "rb") as handle:
            return deserialize(handle.read())
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError and others
        raise CheckpointError(f"{path}: cannot load with torch.load(weights_only=True) ({error})") from error
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a dict of tensors (a state_dict)")
    return state
