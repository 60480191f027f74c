"""Every registered baseline goes through the same smoke tests (build, train, evaluate, checkpoint)."""
import copy

import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import BaselineError, baseline_names, build_recipe, cosine_and_scale, get_baseline
from amlfs.baselines.resnet20 import CifarResNet
from amlfs.checkpoint import pack_state, unpack_state
from amlfs.fixtures.cifar10 import write_fixture

IDENTITY = [1.0] * 6 + [0.0] * 6 + [1.0] * 6 + [0.0] * 6
# small batches keep every baseline's smoke test quick on CPU
SMALL_OPTIONS = {"small-cnn": {"batchSize": 64}, "resnet20": {"batchSize": 16, "evalBatchSize": 16}}
# re-ID baselines read image folders and report retrieval metrics: their smoke tests are in test_spherereid.py
CLASSIFICATION_BASELINES = [n for n in baseline_names() if get_baseline(n).datasets[0] in ("digits", "cifar10-bin")]


class FakeTask:
    def __init__(self, seed=1):
        self.seed = seed
        self.steps = []

    def generator(self):
        return torch.Generator().manual_seed(self.seed)

    def progress(self, step, steps, loss=None, *, samples=None):
        self.steps.append((step, steps, loss, samples))


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-bin"
    write_fixture(str(root), per_batch=8, test=8)
    return str(root)


def experiment_for(name, cifar_root, **options):
    kind = get_baseline(name).datasets[0]
    return {
        "name": "smoke",
        "seed": 0,
        "baseline": {"name": name, "options": {**SMALL_OPTIONS.get(name, {}), **options}},
        "dataset": {"kind": kind, "root": cifar_root if kind == "cifar10-bin" else "",
                    "splits": {"valFraction": 0.1, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 4},
        "reward": {"metric": "top1"},
    }


def state_equal(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("name", CLASSIFICATION_BASELINES)
def test_baseline_smoke(name, cifar_root):
    torch.manual_seed(0)
    recipe = build_recipe(experiment_for(name, cifar_root), torch.device("cpu"))
    assert recipe.reward_metric == "top1"
    sizes = recipe.dataset_sizes()
    assert sizes["train"] > 0 and sizes["val"] > 0 and sizes["test"] > 0

    # one forward/backward through the searched loss at the identity is cross-entropy on the logits
    images = recipe.data.train.images[:4]
    x = recipe._inputs(images, None)
    y = recipe.data.train.labels[:4]
    cosine, scale = cosine_and_scale(recipe.model.features(x), recipe.model.classifier.weight)
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    loss = loss_fn(cosine, y, scale)
    assert torch.allclose(loss, F.cross_entropy(recipe.model(x), y), atol=1e-5)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in recipe.model.parameters())
    recipe.optimizer.zero_grad()

    # a whole (tiny) epoch, then evaluation
    start = pack_state(recipe.model, recipe.optimizer, recipe.scheduler, epoch=0)
    task = FakeTask()
    stats = recipe.train_epoch(task, loss_fn)
    assert stats.steps == len(task.steps) and task.steps[-1][0] == task.steps[-1][1] == stats.steps
    assert stats.samples == sizes["train"] and stats.mean_loss > 0
    metrics = recipe.evaluate("val")
    assert 0 <= metrics["top1"] <= 1 and metrics["loss"] > 0
    assert recipe.scheduler is None or recipe.scheduler.last_epoch == 1

    # pack / unpack into a recipe built the same way; the same task gives the same state
    trained = pack_state(recipe.model, recipe.optimizer, recipe.scheduler, epoch=1)
    other = build_recipe(experiment_for(name, cifar_root), torch.device("cpu"))
    assert unpack_state(trained.data, other.model, other.optimizer, other.scheduler) == 1
    assert state_equal(other.model, recipe.model)
    unpack_state(start.data, other.model, other.optimizer, other.scheduler)
    other.train_epoch(FakeTask(), loss_fn)
    assert pack_state(other.model, other.optimizer, other.scheduler, epoch=1).sha256 == trained.sha256

    # initRequest: the initial state follows from the seed alone
    recipe.initialize(5)
    other.initialize(5)
    assert pack_state(recipe.model, recipe.optimizer, recipe.scheduler).sha256 == pack_state(
        other.model, other.optimizer, other.scheduler).sha256
    other.initialize(6)
    assert not state_equal(other.model, recipe.model)


@pytest.mark.parametrize("name", CLASSIFICATION_BASELINES)
def test_options_are_checked(name, cifar_root):
    with pytest.raises(BaselineError, match=r"`baseline.options.learningRate`: unknown option"):
        build_recipe(experiment_for(name, cifar_root, learningRate=0.1), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.batchSize`: expected a positive integer, got 0"):
        build_recipe(experiment_for(name, cifar_root, batchSize=0), torch.device("cpu"))


def test_registry_errors(cifar_root):
    assert {"small-cnn", "resnet20"} <= set(baseline_names())
    with pytest.raises(BaselineError, match=r"`baseline.name`: 'no-such-baseline' is not available.*small-cnn"):
        get_baseline("no-such-baseline")
    experiment = experiment_for("resnet20", cifar_root)
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


def test_resnet20_recipe_defaults(cifar_root):
    experiment = experiment_for("resnet20", cifar_root)
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

    experiment = experiment_for("small-cnn", "")
    experiment["baseline"]["options"] = {}
    recipe = build_recipe(copy.deepcopy(experiment), torch.device("cpu"))
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    started = time.perf_counter()
    recipe.train_epoch(FakeTask(), loss_fn)
    assert time.perf_counter() - started < 3.0  # about 0.1 s; generous for loaded CI machines
