"""Training state as safetensors bytes: model, optimizer, LR scheduler and epoch counter."""
from .errors import CheckpointError
from .pretrained import load_weights
from .safetensors_io import read_metadata, sha256_hex
from .state import FORMAT, PackedState, load_model_state, model_tensors, pack_state, unpack_state

__all__ = [
    "FORMAT",
    "CheckpointError",
    "PackedState",
    "load_model_state",
    "load_weights",
    "model_tensors",
    "pack_state",
    "read_metadata",
    "sha256_hex",
    "unpack_state",
]
