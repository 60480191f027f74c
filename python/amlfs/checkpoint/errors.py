"""The error type of the checkpoint layer."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be packed or unpacked; the message names the key or file."""
