"""``SearchedCrossEntropyLoss`` for a plain training script; it lives in :mod:`amlfs.loss.searched_cross_entropy`."""
from ..loss.linear_head import linear_cosine_and_scale
from ..loss.searched_cross_entropy import SearchedCrossEntropyLoss

__all__ = ["SearchedCrossEntropyLoss", "linear_cosine_and_scale"]
