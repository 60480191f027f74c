"""Built-in baselines: a model, its data pipeline and training recipe, with the softmax branch searched.

Importing this package registers ``small-cnn``, ``resnet20``, ``cosine-mlp``, ``spherereid``, ``sft``, ``mgn``,
``cosface`` and ``upstream`` (the authors' own code through an adapter, :mod:`amlfs.upstream`).
"""
from ..loss.linear_head import cosine_and_scale
from . import cosface, cosine_mlp, mgn, resnet20, sft, small_cnn, spherereid  # noqa: F401  (registration)
from .classification import ClassificationRecipe, SgdConfig
from .errors import BaselineError
from .recipe import EpochStats, NonFiniteLoss, Recipe, SoftmaxBranch
from .registry import BaselineSpec, baseline_names, build_recipe, get_baseline, register_baseline

__all__ = [
    "BaselineError",
    "BaselineSpec",
    "ClassificationRecipe",
    "EpochStats",
    "NonFiniteLoss",
    "Recipe",
    "SgdConfig",
    "SoftmaxBranch",
    "baseline_names",
    "build_recipe",
    "cosine_and_scale",
    "get_baseline",
    "register_baseline",
]

from ..upstream import baseline as _upstream  # noqa: E402,F401  (registers `upstream`, after the built-ins)
