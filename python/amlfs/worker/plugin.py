"""What a plain PyTorch training script needs to be driven by AM-LFS, in one import (docs/plug-in.md).

    from amlfs.worker.plugin import SearchedCrossEntropyLoss, connect, epochs

- :func:`connect`: join the controller (endpoint, worker id and run id from ``AMLFS_*``);
- :class:`SearchedCrossEntropyLoss`: replaces ``nn.CrossEntropyLoss`` after a linear head;
- :func:`epochs`: replaces ``range(num_epochs)``; one train task per iteration, reward
  measured and reported after the body, evaluate tasks answered.
"""
from .linear_loss import SearchedCrossEntropyLoss, linear_cosine_and_scale
from .loop import epochs
from .session import Session, connect

__all__ = ["SearchedCrossEntropyLoss", "Session", "connect", "epochs", "linear_cosine_and_scale"]
