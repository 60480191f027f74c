"""Evaluation metrics: classification top-1; re-ID CMC/mAP and k-reciprocal re-ranking."""
from .classification import ClassificationMetrics, top1_accuracy
from .reid_metrics import ReidMetrics, evaluate_reid, pairwise_distance
from .rerank import rerank, rerank_features

__all__ = ["ClassificationMetrics", "top1_accuracy", "ReidMetrics", "evaluate_reid", "pairwise_distance",
           "rerank", "rerank_features"]
