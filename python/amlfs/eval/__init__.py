"""Evaluation metrics (classification top-1 for now; re-ID and face protocols belong here too)."""
from .classification import ClassificationMetrics, top1_accuracy

__all__ = ["ClassificationMetrics", "top1_accuracy"]
