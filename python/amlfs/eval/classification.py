"""Top-1 accuracy and mean cross-entropy, accumulated over batches."""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F


def top1_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows of ``logits [N, C]`` whose argmax is ``labels [N]`` (the lowest index on ties)."""
    if logits.dim() != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"Expected logits [N, C] and labels [N], got {list(logits.shape)} and {list(labels.shape)}")
    if logits.shape[0] == 0:
        raise ValueError("top-1 accuracy of an empty set is undefined")
    return float((logits.argmax(dim=1) == labels).double().mean())


class ClassificationMetrics:
    """Accumulates ``top1`` and ``loss`` (plain cross-entropy of the logits) over batches."""

    def __init__(self):
        self.correct = 0
        self.count = 0
        self.loss_sum = 0.0

    def update(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.correct += int((logits.argmax(dim=1) == labels).sum())
        self.count += int(labels.shape[0])
        self.loss_sum += float(F.cross_entropy(logits.float(), labels, reduction="sum"))

    def compute(self) -> Dict[str, float]:
        if self.count == 0:
            raise ValueError("no samples were evaluated")
        return {"top1": self.correct / self.count, "loss": self.loss_sum / self.count}
