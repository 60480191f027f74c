"""Every registered baseline goes through the same smoke tests: build on a tiny fixture, its softmax
branches against cross-entropy, one epoch, evaluation, checkpoint round trip, re-initialization."""
import copy
from dataclasses import dataclass, field
from typing import Dict, Tuple

import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import BaselineError, NonFiniteLoss, baseline_names, build_recipe, cosine_and_scale, get_baseline
from amlfs.baselines.resnet20 import CifarResNet
from amlfs.checkpoint import pack_state, unpack_state

from .fakes import FACE_TINY, REID_TINY, FakeTask

RETRIEVAL_METRICS = ("mAP", "rank1", "rank5", "rank10")


@dataclass(frozen=True)
class Smoke:
    """How a baseline is smoke-tested: its dataset kind, reward, small options, and what to expect."""

    dataset: str
    metric: str
    options: Dict = field(default_factory=dict)
    branches: int = 1  # softmax branches the searched loss replaces
    int_option: str = "batchSize"  # a positive-integer option, for the option-error test
    metrics: Tuple[str, ...] = ("top1", "loss")
    schedule_per: str = "epoch"  # the LR scheduler steps once per "epoch" or once per "step"


# One entry per registered baseline (test_every_baseline_is_enrolled checks it): small batches and images keep
# each smoke test within seconds on CPU.
SMOKE = {
    "small-cnn": Smoke("digits", "top1", {"batchSize": 64}),
    "resnet20": Smoke("cifar10-bin", "top1", {"batchSize": 16, "evalBatchSize": 16}),
    "cosine-mlp": Smoke("synthetic-classes", "top1", {"classes": 20, "trainPerClass": 10, "testPerClass": 2,
                                                      "hiddenDim": 32, "embeddingDim": 16, "batchSize": 32}),
    "spherereid": Smoke("market1501", "mAP", {**REID_TINY, "p": 2, "k": 2, "cropHeightPx": 56, "cropWidthPx": 28},
                        int_option="p", metrics=RETRIEVAL_METRICS),
    "sft": Smoke("market1501", "mAP", {**REID_TINY, "p": 2, "k": 4, "cropHeightPx": 56, "cropWidthPx": 28,
                                       "paddingPx": 2, "embeddingDim": 16}, branches=2, int_option="p",
                 metrics=RETRIEVAL_METRICS),
    "mgn": Smoke("market1501", "mAP", {**REID_TINY, "p": 4, "k": 4, "reducedDim": 8}, branches=8, int_option="p",
                 metrics=RETRIEVAL_METRICS),
    "cosface": Smoke("casia-webface", "verificationAccuracy", FACE_TINY, schedule_per="step",
                     metrics=("verificationAccuracy", "verificationAccuracyStd", "tarAtFar1e-3")),
}
VAL_FRACTION = {"top1": 0.1, "mAP": 0.34, "verificationAccuracy": 0.2}
# `upstream` runs the authors' code, which needs torchvision: its adapters have the same checks in
# tests/upstream/ (run in .venv-upstream by `make test-upstream`).
BUILT_IN = [name for name in baseline_names() if name != "upstream"]


def experiment_for(name, roots, **options):
    smoke = SMOKE[name]
    return {
        "name": "smoke",
        "seed": 0,
        "baseline": {"name": name, "options": {**smoke.options, **options}},
        "dataset": {"kind": smoke.dataset, "root": roots[smoke.dataset],
                    "splits": {"valFraction": VAL_FRACTION[smoke.metric], "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 4},
        "reward": {"metric": smoke.metric},
    }


def state_sha(recipe):
    return pack_state(recipe.model, recipe.optimizer, recipe.scheduler, epoch=0).sha256


def test_every_baseline_is_enrolled():
    assert sorted(SMOKE) == BUILT_IN
    for name, smoke in SMOKE.items():
        assert smoke.dataset in get_baseline(name).datasets


@pytest.mark.parametrize("name", BUILT_IN)
def test_baseline_smoke(name, dataset_roots):
    smoke = SMOKE[name]
    torch.manual_seed(0)
    recipe = build_recipe(experiment_for(name, dataset_roots), torch.device("cpu"))
    assert recipe.reward_metric == smoke.metric
    sizes = recipe.dataset_sizes()
    assert sizes["train"] > 0 and sizes["val"] > 0 and sizes["test"] > 0

    # every softmax branch: cosines in [-1, 1]; at the identity the searched loss is cross-entropy on its
    # logits, and the gradient reaches every trainable parameter
    branches = recipe.softmax_branches(4)
    assert len(branches) == smoke.branches
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    total = 0
    for branch in branches:
        n, classes = branch.cosine.shape
        assert n == branch.target.shape[0] == 4 and branch.cosine.abs().max() <= 1 + 1e-5
        assert 0 <= int(branch.target.min()) and int(branch.target.max()) < classes
        loss = loss_fn(branch.cosine, branch.target, branch.scale)
        assert torch.allclose(loss, F.cross_entropy(branch.cosine * branch.scale, branch.target), atol=1e-5)
        total = total + loss
    total.backward()
    for param_name, param in recipe.model.named_parameters():
        if param.requires_grad:
            assert param.grad is not None and torch.isfinite(param.grad).all(), param_name
    recipe.optimizer.zero_grad(set_to_none=True)

    # a whole (tiny) epoch, then the reward split
    start = pack_state(recipe.model, recipe.optimizer, recipe.scheduler, epoch=0)
    task = FakeTask()
    stats = recipe.train_epoch(task, loss_fn)
    assert stats.steps == len(task.steps) and task.steps[-1][0] == task.steps[-1][1] == stats.steps
    assert 0 < stats.samples <= sizes["train"] and 0 < stats.mean_loss < float("inf")
    assert recipe.scheduler is None or recipe.scheduler.last_epoch == (1 if smoke.schedule_per == "epoch" else stats.steps)
    metrics = recipe.evaluate("val")
    assert set(smoke.metrics) <= set(metrics) and smoke.metric in metrics
    assert all(0 <= metrics[k] <= 1 for k in smoke.metrics if k != "loss")
    with pytest.raises(BaselineError, match="split"):
        recipe.evaluate("train")

    # the same start state and task give the same trained state, through a checkpoint round trip
    trained = pack_state(recipe.model, recipe.optimizer, recipe.scheduler, epoch=1)
    other = build_recipe(experiment_for(name, dataset_roots), torch.device("cpu"))
    assert unpack_state(start.data, other.model, other.optimizer, other.scheduler) == 0
    other.train_epoch(FakeTask(), loss_fn)
    assert pack_state(other.model, other.optimizer, other.scheduler, epoch=1).sha256 == trained.sha256

    # initRequest: the initial state (weights, empty optimizer state, start of the schedule) follows from the seed
    recipe.initialize(5)
    assert not recipe.optimizer.state and (recipe.scheduler is None or recipe.scheduler.last_epoch == 0)
    other.initialize(5)
    assert state_sha(recipe) == state_sha(other)
    other.initialize(6)
    assert state_sha(recipe) != state_sha(other)


@pytest.mark.parametrize("name", BUILT_IN)
def test_options_are_checked(name, dataset_roots):
    option = SMOKE[name].int_option
    with pytest.raises(BaselineError, match=r"`baseline.options.learningRate`: unknown option"):
        build_recipe(experiment_for(name, dataset_roots, learningRate=0.1), torch.device("cpu"))
    with pytest.raises(BaselineError, match=rf"`baseline.options.{option}`: expected a positive integer, got 0"):
        build_recipe(experiment_for(name, dataset_roots, **{option: 0}), torch.device("cpu"))


@pytest.mark.parametrize("name", [n for n in BUILT_IN if SMOKE[n].metric == "top1"])
def test_classification_branch_is_the_linear_head(name, dataset_roots):
    recipe = build_recipe(experiment_for(name, dataset_roots), torch.device("cpu"))
    [branch] = recipe.softmax_branches(4)
    x = recipe._inputs(recipe.data.train.images[:4], None)
    assert torch.allclose(branch.cosine * branch.scale, recipe.model(x), atol=1e-5)
    assert torch.equal(branch.target, recipe.data.train.labels[:4])


def test_registry_errors(dataset_roots):
    assert {"small-cnn", "resnet20"} <= set(baseline_names())
    with pytest.raises(BaselineError, match=r"`baseline.name`: 'no-such-baseline' is not available.*small-cnn"):
        get_baseline("no-such-baseline")
    experiment = experiment_for("resnet20", dataset_roots)
    experiment["dataset"] = {"kind": "digits"}
    with pytest.raises(BaselineError, match="`dataset.kind`: baseline resnet20 runs on cifar10-bin"):
        build_recipe(experiment, torch.device("cpu"))


def test_resnet20_matches_the_paper():
    model = CifarResNet(20)
    assert sum(p.numel() for p in model.parameters()) == 269_712  # He et al. 2016, Table 6: 0.27M
    assert model.classifier.bias is None
    x = torch.randn(2, 3, 32, 32)
    assert model.features(x).shape == (2, 64) and model(x).shape == (2, 10)
    assert len(model.layers) == 9


def test_resnet20_recipe_defaults(dataset_roots):
    experiment = experiment_for("resnet20", dataset_roots)
    experiment["baseline"]["options"] = {}
    experiment["search"]["epochs"] = 164
    recipe = build_recipe(experiment, torch.device("cpu"))
    assert recipe.config.batch_size == 128 and recipe.config.crop_padding == 4 and recipe.config.flip
    group = recipe.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.1, 0.9, 1e-4)
    assert sorted(recipe.scheduler.milestones) == [82, 123]  # 32k and 48k of 64k iterations


def test_cosine_and_scale():
    features = torch.randn(5, 7, requires_grad=True)
    weight = torch.randn(3, 7, requires_grad=True)
    cosine, scale = cosine_and_scale(features, weight)
    assert torch.allclose(cosine * scale, features @ weight.t(), atol=1e-6)
    assert cosine.abs().max() <= 1 + 1e-6 and scale.shape == (5, 3)
    (cosine * scale).sum().backward()
    assert torch.isfinite(features.grad).all() and torch.isfinite(weight.grad).all()
    zero_cos, zero_scale = cosine_and_scale(torch.zeros(2, 7), torch.zeros(3, 7))
    assert torch.equal(zero_cos, torch.zeros(2, 3)) and (zero_scale > 0).all()
    with pytest.raises(ValueError, match="weight"):
        cosine_and_scale(torch.zeros(2, 7), torch.zeros(3, 6))


def test_digits_epoch_is_fast():
    import time

    experiment = experiment_for("small-cnn", {"digits": ""})
    experiment["baseline"]["options"] = {}
    recipe = build_recipe(copy.deepcopy(experiment), torch.device("cpu"))
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    started = time.perf_counter()
    recipe.train_epoch(FakeTask(), loss_fn)
    assert time.perf_counter() - started < 3.0  # about 0.1 s; generous for loaded CI machines


@pytest.mark.parametrize("bad, word", [(float("nan"), "NaN"), (float("inf"), "infinite")])
def test_a_non_finite_loss_fails_the_task_before_any_step(bad, word, dataset_roots):
    recipe = build_recipe(experiment_for("small-cnn", dataset_roots), torch.device("cpu"))
    before = state_sha(recipe)
    calls = []

    def loss_fn(cosine, target, scale):
        calls.append(1)
        value = F.cross_entropy(cosine * scale, target)
        return value * bad if len(calls) == 3 else value

    with pytest.raises(NonFiniteLoss, match=f"loss is {word} at step 3"):
        recipe.train_epoch(FakeTask(), loss_fn)
    assert len(calls) == 3 and state_sha(recipe) != before  # two steps were taken, the third refused
