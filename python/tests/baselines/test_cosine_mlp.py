"""``cosine-mlp``: a normalized cosine head with a fixed scale, sized by its data options."""
import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import BaselineError, build_recipe

TINY = {"classes": 12, "inputDims": 6, "trainPerClass": 10, "testPerClass": 2, "hiddenDim": 16, "embeddingDim": 8,
        "batchSize": 16}


def experiment(**options):
    return {
        "name": "cosine-mlp-test",
        "seed": 0,
        "baseline": {"name": "cosine-mlp", "options": {**TINY, **options}},
        "dataset": {"kind": "synthetic-classes", "splits": {"valFraction": 0.1, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 2},
        "reward": {"metric": "top1"},
    }


def test_the_branch_is_the_normalized_head_with_a_fixed_scale():
    recipe = build_recipe(experiment(scale=16), torch.device("cpu"))
    [branch] = recipe.softmax_branches(5)
    assert branch.scale == 16.0
    model = recipe.model
    x = recipe._inputs(recipe.data.train.images[:5], None)
    expected = F.normalize(model.features(x), dim=1) @ F.normalize(model.classifier.weight, dim=1).t()
    assert torch.allclose(branch.cosine, expected, atol=1e-6)
    assert torch.allclose(model(x), 16 * expected, atol=1e-5)


def test_cosface_margin_lowers_the_target_logit_only():
    recipe = build_recipe(experiment(), torch.device("cpu"))
    [branch] = recipe.softmax_branches(5)
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    loss_fn.set_theta(amlfs.SearchSpace(num_intervals=6).cosine_margin(0.35))
    logits = branch.scale * (branch.cosine - 0.35 * F.one_hot(branch.target, branch.cosine.shape[1]))
    assert torch.allclose(loss_fn(branch.cosine, branch.target, branch.scale), F.cross_entropy(logits, branch.target),
                          atol=1e-5)


def test_data_options_size_the_task():
    recipe = build_recipe(experiment(), torch.device("cpu"))
    assert recipe.data.num_classes == 12 and recipe.dataset_sizes() == {"train": 108, "val": 12, "test": 24}
    assert recipe.data.train.images.shape[1:] == (6, 1, 1)
    assert recipe.model.classifier.weight.shape == (12, 8)


@pytest.mark.parametrize("option, value, expected", [
    ("classes", 1, "at least 2"),
    ("trainPerClass", 1, "at least 2"),
    ("noiseStd", 0, "a positive number"),
    ("scale", -1, "a positive number"),
])
def test_option_errors_name_the_option(option, value, expected):
    with pytest.raises(BaselineError, match=rf"`baseline.options.{option}`: expected {expected}"):
        build_recipe(experiment(**{option: value}), torch.device("cpu"))
