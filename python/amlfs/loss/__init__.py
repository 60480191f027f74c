"""The searched loss of AM-LFS (Li et al., ICCV 2019): search space, ``t``/``tau`` and the loss."""
from .errors import LossInputError
from .hard_examples import hard_example_loss, hardest_mean
from .linear_head import cosine_and_scale, linear_cosine_and_scale
from .log_tau import TAU_FLOOR, LogTau, effective_log_tau
from .module import SearchedSoftmaxLoss
from .piecewise_linear import interval_index, piecewise_linear
from .search_space import SearchSpace, ThetaParts
from .searched_cross_entropy import SearchedCrossEntropyLoss
from .searched_softmax import searched_softmax_loss, searched_softmax_terms
from .stats import LossStats

__all__ = [
    "TAU_FLOOR",
    "LogTau",
    "LossInputError",
    "LossStats",
    "SearchSpace",
    "SearchedCrossEntropyLoss",
    "SearchedSoftmaxLoss",
    "ThetaParts",
    "cosine_and_scale",
    "effective_log_tau",
    "hard_example_loss",
    "hardest_mean",
    "interval_index",
    "linear_cosine_and_scale",
    "piecewise_linear",
    "searched_softmax_loss",
    "searched_softmax_terms",
]
