"""amlfs: AM-LFS, AutoML for Loss Function Search (Li et al., ICCV 2019), the Python side.

The searched softmax loss (:func:`searched_softmax_loss`, :class:`SearchedSoftmaxLoss`) and
its search space; ``docs/algorithm.md`` is the normative description.
"""
from .loss import (
    TAU_FLOOR,
    LogTau,
    LossInputError,
    SearchedSoftmaxLoss,
    SearchSpace,
    effective_log_tau,
    interval_index,
    piecewise_linear,
    searched_softmax_loss,
    searched_softmax_terms,
)

__all__ = [
    "TAU_FLOOR",
    "LogTau",
    "LossInputError",
    "SearchSpace",
    "SearchedSoftmaxLoss",
    "effective_log_tau",
    "interval_index",
    "piecewise_linear",
    "searched_softmax_loss",
    "searched_softmax_terms",
]
