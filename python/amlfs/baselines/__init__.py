"""Built-in baselines: a model, its data pipeline and training recipe, with the softmax branch searched.

Importing this package registers ``small-cnn``, ``resnet20``, ``cosine-mlp``, ``spherereid``, ``sft``, ``mgn`` and
``cosface``.
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
