"""ResNet-20's recipe presets: akamaster/pytorch_resnet_cifar10 (upstream) and He et al. 2016 Sec. 4.2 (paper)."""
import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import build_recipe
from amlfs.baselines.classification import softmax_branch
from amlfs.baselines.options import parse_options
from amlfs.baselines.resnet20 import OPTIONS, PRESETS, CifarResNet

from .test_baselines import experiment_for


def test_the_upstream_preset_is_akamasters_trainer():
    options = parse_options("resnet20", {}, OPTIONS, PRESETS)
    assert options["recipe"] == "upstream"
    # trainer.py: batch 128, lr 0.1, momentum 0.9, wd 1e-4, MultiStepLR([100, 150]) of 200 epochs
    assert (options["batchSize"], options["lr"], options["momentum"], options["weightDecay"]) == (128, 0.1, 0.9, 1e-4)
    assert [200 * f for f in options["milestones"]] == [100, 150]
    assert (options["normalization"], options["headBias"]) == ("imagenet", True)


def test_the_paper_preset_is_he_et_al():
    options = parse_options("resnet20", {"recipe": "paper"}, OPTIONS, PRESETS)
    assert [164 * f for f in options["milestones"]] == [82, 123]  # 32k and 48k of 64k iterations of 391
    assert (options["normalization"], options["headBias"]) == ("cifar10", False)


@pytest.mark.parametrize("recipe, mean, bias", [("upstream", (0.485, 0.456, 0.406), True),
                                                ("paper", (0.4914, 0.4822, 0.4465), False)])
def test_built_recipes_follow_their_preset(dataset_roots, recipe, mean, bias):
    experiment = experiment_for("resnet20", dataset_roots, recipe=recipe)
    experiment["search"]["epochs"] = 200
    built = build_recipe(experiment, torch.device("cpu"))
    assert built.data.mean == pytest.approx(mean)
    assert (built.model.classifier.bias is not None) == bias
    assert sorted(built.scheduler.milestones) == [100, 150]


def test_the_head_with_a_bias_is_a_softmax_branch_whose_identity_is_cross_entropy():
    torch.manual_seed(0)
    model = CifarResNet(20, head_bias=True)
    torch.nn.init.normal_(model.classifier.bias)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([1, 0, 9, 3])
    cosine, scale = softmax_branch(model, x)
    assert torch.allclose(scale * cosine, model(x), atol=1e-5)
    loss = amlfs.SearchedSoftmaxLoss(6)(cosine, y, scale)
    assert torch.allclose(loss, F.cross_entropy(model(x), y), atol=1e-5)
    assert sum(p.numel() for p in model.parameters()) == 269_712 + 10  # the 10 biases
