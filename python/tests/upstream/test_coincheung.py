"""Adapter ``spherereid-coincheung`` against CoinCheung/SphereReID's own code (the unedited snapshot in
$AMLFS_UPSTREAM_DIR): at the identity ``theta`` its loss is the repository's ``OhemSphereLoss`` and
``SphereLoss``, its training step is ``train.py``'s, and it matches the built-in ``spherereid`` with
the ``upstream`` preset; end to end on a tiny Market-1501 fixture; the checkout's errors."""
from __future__ import annotations

import copy
import logging
import os
from unittest import mock

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import amlfs
from amlfs.baselines import BaselineError, build_recipe
from amlfs.checkpoint.state import pack_state, unpack_state
from amlfs.fixtures.reid import write_reid_fixture
from amlfs.upstream import get_adapter, load_module, open_checkout
from amlfs.upstream import coincheung_spherereid as adapter

from ..baselines.fakes import FakeTask

SNAPSHOT = "CoinCheung-SphereReID"
TINY = {"p": 2, "k": 2, "numWorkers": 0, "evalBatchSize": 16, "strict": False}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def repo(upstream_dir):
    path = upstream_dir / SNAPSHOT
    if not path.is_dir():
        pytest.skip(f"no snapshot {path}")
    return path


@pytest.fixture(scope="module")
def checkout(repo):
    return open_checkout(get_adapter(adapter.NAME).repo, str(repo))


@pytest.fixture(scope="module")
def sphere_loss(checkout):
    return load_module(checkout, "sphere_loss")


@pytest.fixture(scope="module")
def market_root(tmp_path_factory):
    """4 training ids x 4 images of 32 x 16 pixels (1 becomes the validation id: 3 x 4 train), 4 test ids."""
    root = tmp_path_factory.mktemp("market") / "Market-1501-v15.09.15"
    write_reid_fixture(str(root), "market", ids=4, per_id=4, height_px=32, width_px=16)
    return str(root)


def experiment(root, repo, seed=0, epochs=150, **options):
    return {
        "name": "coincheung", "seed": seed,
        "baseline": {"name": "upstream", "options": {"adapter": adapter.NAME, "repo": str(repo), **TINY, **options}},
        "dataset": {"kind": "market1501", "root": root, "splits": {"valFraction": 0.34, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": epochs},
        "reward": {"metric": "mAP"},
    }


def identity_net_model(criterion):
    """The adapter's model around the repository's criterion, the embedding given directly."""
    return adapter.CoinCheungModel(nn.Identity(), criterion)


# --- the loss --------------------------------------------------------------------------------------


def test_at_identity_the_loss_is_the_repositorys_ohem_sphere_loss(sphere_loss):
    torch.manual_seed(0)
    criterion = sphere_loss.OhemSphereLoss(16, 5, thresh=0.8).double()
    x = torch.randn(10, 16, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    loss_fn = amlfs.SearchedSoftmaxLoss(6)

    ours = adapter.ohem_searched_loss(identity_net_model(criterion), x, y, loss_fn)
    grads = torch.autograd.grad(ours, (x, criterion.W))
    reference = criterion(x, y)  # the repository's forward, unedited
    ref_grads = torch.autograd.grad(reference, (x, criterion.W))
    assert torch.allclose(ours, reference, rtol=1e-12, atol=0)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, rtol=1e-10, atol=1e-14)
    # OHEM kept 8 of 10 samples: two rows of x get no gradient, as in the repository
    assert int((grads[0].abs().sum(1) == 0).sum()) == 2
    assert loss_fn.reduction == "mean" and loss_fn.stats.summary()["examples"] == 10


def test_at_identity_the_loss_without_ohem_is_the_repositorys_sphere_loss(sphere_loss):
    torch.manual_seed(1)
    criterion = sphere_loss.SphereLoss(16, 5).double()
    x = torch.randn(6, 16, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([4, 3, 2, 1, 0, 4])
    cosine, scale = identity_net_model(criterion).branch(x)
    ours = amlfs.SearchedSoftmaxLoss(6)(cosine, y, scale)
    reference = criterion(x, y)
    assert torch.allclose(ours, reference, rtol=1e-12, atol=0)
    for g, r in zip(torch.autograd.grad(ours, (x, criterion.W)), torch.autograd.grad(reference, (x, criterion.W))):
        assert torch.allclose(g, r, rtol=1e-10, atol=1e-14)


def test_ohem_of_a_searched_loss_is_the_mean_of_the_largest_per_sample_losses(sphere_loss):
    """Away from the identity: each sample's searched loss alone, then the 8 largest of 10 by hand."""
    torch.manual_seed(2)
    criterion = sphere_loss.OhemSphereLoss(16, 5, thresh=0.8).double()
    x = torch.randn(10, 16, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 4, 4, 3, 2, 1, 0])
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    theta = loss_fn.theta
    theta[:6] = 0.7  # a_t: a flatter target-logit transform
    loss_fn.set_theta(theta)
    model = identity_net_model(criterion)
    with torch.no_grad():
        cosine, scale = model.branch(x)
        each = sorted((float(amlfs.searched_softmax_loss(cosine[i:i + 1], y[i:i + 1], theta, scale))
                       for i in range(10)), reverse=True)
        ours = adapter.ohem_searched_loss(model, x, y, loss_fn)
    assert float(ours) == pytest.approx(sum(each[:8]) / 8, rel=1e-12)
    assert float(ours) != pytest.approx(float(criterion(x, y).detach()), rel=1e-3)  # theta changed the loss


# --- the recipe ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(market_root, repo):
    return build_recipe(experiment(market_root, repo), torch.device("cpu"))


def test_the_recipe_is_built_as_train_py_builds_it(built, sphere_loss):
    model = built.model
    assert type(model.net).__name__ == "Network_D" and isinstance(model.criterion, sphere_loss.OhemSphereLoss)
    assert model.criterion.thresh == 0.8 and model.criterion.scale == 14
    assert tuple(model.criterion.W.shape) == (1024, 3)  # 3 training identities after the validation split
    assert isinstance(built.optimizer, torch.optim.Adam) and built.optimizer.defaults["lr"] == 1e-3
    trained = {id(p) for group in built.optimizer.param_groups for p in group["params"]}
    assert trained == {id(p) for p in model.parameters()}  # the net's and W
    assert built.dataset_sizes() == {"train": 12, "val": 4, "test": 8 + 18}
    assert built.scheduler.state_dict() == {"epoch": 0}
    assert set(built.reward_metrics) == {"mAP", "rank1"}
    ours = {pid: label for pid, label in zip(built.data.train.images.pids, built.data.train.labels)}
    assert built.train_set.pid_label_map == ours


def test_one_epoch_is_train_py_s_loop_with_the_repositorys_loss(built):
    """One epoch (3 ids, P = 2: one step) of the adapter at the identity theta, and the same epoch as
    ``train.py`` runs it (its sampler, loader, ``OhemSphereLoss``, Adam, ``lr_scheduler``) under the
    same seeds, from the same weights: the same batch, loss, gradients (Adam's first moment) and weights."""
    start = copy.deepcopy(built.model.state_dict())
    reference = copy.deepcopy(built.model)
    task = FakeTask(seed=7)
    stats = built.train_epoch(task, amlfs.SearchedSoftmaxLoss(6))
    assert stats.steps == 1 and stats.samples == 4 and built.scheduler.epoch == 1
    assert built.optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)

    net, criteria = reference.net, reference.criterion  # train.py's names
    optim = torch.optim.Adam(list(net.parameters()) + list(criteria.parameters()), lr=1e-3)
    adapter.seed_task_rngs(task.generator())
    built.lr_scheduler(0, optim)
    dl = DataLoader(built.train_set, batch_sampler=built.balanced_sampler(), num_workers=0)
    net.train()
    losses = []
    for imgs, lbs, _ in dl:
        loss = criteria(net(imgs), lbs)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(float(loss.detach()))
    assert len(losses) == 1 and task.steps[0][2] == pytest.approx(losses[0], rel=1e-5)

    ours = dict(built.model.named_parameters())
    ref_state = {id(p): optim.state[p] for p in reference.parameters()}
    moved = 0.0
    for name, p in reference.named_parameters():
        mine = built.optimizer.state[ours[name]]["exp_avg"]
        theirs = ref_state[id(p)]["exp_avg"]
        # (1e-9: the rounding noise of gradients that are zero in exact arithmetic, e.g. the bias before bn3)
        assert torch.allclose(mine, theirs, rtol=1e-3, atol=1e-5 * float(theirs.abs().max()) + 1e-9), name
        delta, ref_delta = ours[name].detach() - start[name], p.detach() - start[name]
        # Adam's first step is lr * g / (|g| + 1e-8): where |g| is near 1e-8 it follows rounding noise
        strong = theirs.abs() > 1e-7  # exp_avg = 0.1 g: |g| > 1e-6
        assert torch.allclose(delta[strong], ref_delta[strong], rtol=1e-2, atol=1e-9), name
        moved = max(moved, float(ref_delta.abs().max()))
    assert moved > 5e-6  # the step moved the weights (by about lr = 1e-5)
    for name, buffer in reference.named_buffers():
        assert torch.allclose(built.model.state_dict()[name].double(), buffer.double(), rtol=1e-5, atol=1e-6), name


def test_end_to_end_evaluation_checkpoint_and_initialize(built, market_root, repo):
    for split in ("val", "test"):
        metrics = built.evaluate(split)
        assert set(metrics) >= {"mAP", "rank1"} and all(0.0 <= v <= 1.0 for v in metrics.values())
    with pytest.raises(BaselineError, match="val or test"):
        built.evaluate("train")
    [branch] = built.softmax_branches(3)
    assert branch.cosine.shape == (3, 3) and branch.scale == 14.0 and branch.target.tolist() == [0, 0, 0]

    packed = pack_state(built.model, built.optimizer, built.scheduler, epoch=built.scheduler.epoch)
    other = build_recipe(experiment(market_root, repo, seed=5), torch.device("cpu"))
    fresh = copy.deepcopy(other.model.state_dict())
    assert unpack_state(packed.data, other.model, other.optimizer, other.scheduler) == built.scheduler.epoch
    assert other.scheduler.epoch == built.scheduler.epoch
    assert other.optimizer.param_groups[0]["lr"] == built.optimizer.param_groups[0]["lr"]
    # the same task from the same state gives the same weights, whatever ran in the process before
    for recipe in (built, other):
        torch.manual_seed(recipe is other)
        recipe.train_epoch(FakeTask(seed=11), amlfs.SearchedSoftmaxLoss(6))
    for (name, a), b in zip(built.model.state_dict().items(), other.model.state_dict().values()):
        assert torch.equal(a, b), name

    built.initialize(5)
    assert built.scheduler.epoch == 0 and not built.optimizer.state
    assert built.optimizer.param_groups[0]["lr"] == 1e-3
    for (name, a), b in zip(built.model.state_dict().items(), fresh.values()):
        assert torch.equal(a, b), name
    root = other.folders.root
    other.folders.remove()
    assert not os.path.exists(root)


def test_pretrained_path_is_loaded_instead_of_the_download(built, tmp_path):
    import torchvision

    torch.manual_seed(3)
    imagenet = torchvision.models.resnet50().state_dict()
    torch.save(imagenet, tmp_path / "resnet50.pth")
    state = adapter.pretrained_state(str(tmp_path / "resnet50.pth"))
    with mock.patch.object(built, "_pretrained", state):
        model = built.make_model()
    assert torch.equal(model.net.layer3[2].conv2.weight, imagenet["layer3.2.conv2.weight"])
    assert torch.equal(model.net.bn1.running_var, imagenet["bn1.running_var"])

    torch.save({"conv1.weight": imagenet["conv1.weight"], "head.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with mock.patch.object(built, "_pretrained", adapter.pretrained_state(str(tmp_path / "other.pth"))):
        with pytest.raises(BaselineError, match="pretrainedPath.*Network_D cannot load"):
            built.make_model()
    with pytest.raises(BaselineError, match="pretrainedPath.*not a torchvision ResNet-50"):
        torch.save({"model": imagenet}, tmp_path / "wrapped.pth")
        adapter.pretrained_state(str(tmp_path / "wrapped.pth"))


# --- the built-in port ----------------------------------------------------------------------------


from amlfs.baselines import reid_recipe  # noqa: E402

NET_HEAD = {"bn2": "bn1", "fc": "fc", "bn3": "bn2"}  # Network_D's head layers -> SphereReIDNet's


def builtin_state(state):
    """The adapter's state dict (``net.*`` of Network_D, ``criterion.W [D, C]``) as SphereReIDNet's."""
    out = {}
    for key, value in state.items():
        if key == "criterion.W":
            out["classifier.weight"] = value.t()
            continue
        first, _, rest = key[len("net."):].partition(".")
        out[f"{NET_HEAD[first]}.{rest}" if first in NET_HEAD else f"backbone.{first}.{rest}"] = value
    return out


def test_one_step_equals_the_built_in_port_with_the_upstream_preset(built, market_root, repo):
    """The built-in ``spherereid`` with ``recipe: "upstream"`` (CoinCheung's values) and the adapter, from
    the same weights (float64), each train one epoch of the same single batch tensor at the identity
    theta: the same loss, LR (epoch 0 of the exponential warmup: 1e-5), gradients and weights.
    Each recipe's own data pipeline is bypassed (the images differ only by resizing code); dropout is
    zeroed in both once checked equal, since the two draw their masks in different orders."""
    exp = experiment(market_root, repo)
    exp["baseline"] = {"name": "spherereid", "options": {"recipe": "upstream", "p": 2, "k": 2, "numWorkers": 0,
                                                         "evalBatchSize": 16, "strict": False}}
    port = build_recipe(exp, torch.device("cpu"))
    ours = build_recipe(experiment(market_root, repo, seed=4), torch.device("cpu"))
    ours.model.double()
    port.model.double()
    port.model.load_state_dict(builtin_state(ours.model.state_dict()))
    assert ours.model.net.dp.p == port.model.dropout.p == 0.5
    ours.model.net.dp.p = port.model.dropout.p = 0.0

    torch.manual_seed(9)
    x = torch.randn(4, 3, 256, 128, dtype=torch.float64)
    y = torch.tensor([0, 0, 2, 2])
    batch = [(x, y, (torch.tensor([4, 4, 8, 8]), torch.tensor([1, 2, 3, 4])))]
    start = copy.deepcopy(ours.model.state_dict())
    ours_task, port_task = FakeTask(seed=3), FakeTask(seed=3)
    with mock.patch.object(adapter, "DataLoader", lambda *args, **kwargs: batch):
        ours.train_epoch(ours_task, amlfs.SearchedSoftmaxLoss(6))
    with mock.patch.object(reid_recipe, "DataLoader", lambda *args, **kwargs: [(x, y, torch.zeros(4))]), \
            mock.patch.object(port, "augment", lambda images, generator: images):
        port.train_epoch(port_task, amlfs.SearchedSoftmaxLoss(6))

    assert ours_task.steps[0][2] == pytest.approx(port_task.steps[0][2], rel=1e-10)
    assert [g["lr"] for g in ours.optimizer.param_groups] == pytest.approx([1e-5])
    # The built-in steps its LR scheduler at the end of the epoch: it now holds epoch 1's LR, which is
    # what train.py's lr_scheduler(1, ...) sets, 1e-5 * (1e-3 / 1e-5) ** (1 / 20).
    assert [g["lr"] for g in port.optimizer.param_groups] == pytest.approx([1e-5 * 100 ** (1 / 20)])
    ported = builtin_state(ours.model.state_dict())
    before = builtin_state(start)
    port_params = dict(port.model.named_parameters())
    ours_params = {name: p for name, p in zip(builtin_state(dict(ours.model.named_parameters())),
                                              ours.model.parameters())}
    for name, value in port.model.state_dict().items():
        delta, port_delta = ported[name] - before[name], value - before[name]
        assert torch.allclose(delta, port_delta, rtol=1e-5, atol=1e-12), name
        if name in port_params:
            mine = ours.optimizer.state[ours_params[name]]["exp_avg"]
            theirs = port.optimizer.state[port_params[name]]["exp_avg"]
            mine = mine.t() if name == "classifier.weight" else mine
            assert torch.allclose(mine, theirs, rtol=1e-6, atol=1e-6 * float(theirs.abs().max()) + 1e-15), name


# --- errors ----------------------------------------------------------------------------------------


def test_more_identities_per_batch_than_the_split_has(market_root, repo):
    with pytest.raises(BaselineError, match=r"`baseline.options.p`: 5 identities per batch, but the training "
                                            r"split has only 3"):
        build_recipe(experiment(market_root, repo, p=5), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.p`: 16 identities .*repository's P = 16"):
        build_recipe(experiment(market_root, repo, p=None), torch.device("cpu"))


def test_a_folder_that_is_not_the_checkout(market_root, repo, tmp_path):
    with pytest.raises(BaselineError, match=r"`baseline.options.repo`: .* is not a checkout of CoinCheung/SphereReID: "
                                            r"missing backbone.py"):
        build_recipe(experiment(market_root, tmp_path), torch.device("cpu"))
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in get_adapter(adapter.NAME).repo.files:
        if name != "sphere_loss.py":
            (partial / name).symlink_to(repo / name)
    with pytest.raises(BaselineError, match=r"missing sphere_loss.py"):
        build_recipe(experiment(market_root, partial), torch.device("cpu"))


def test_another_commit_is_a_warning_naming_both(market_root, repo, tmp_path, caplog):
    other = tmp_path / "other"
    other.mkdir()
    for name in get_adapter(adapter.NAME).repo.files:
        (other / name).symlink_to(repo / name)
    (other / "COMMIT").write_text("0123456789abcdef0123456789abcdef01234567\n")
    with caplog.at_level(logging.WARNING, logger="amlfs.upstream"):
        recipe = build_recipe(experiment(market_root, other), torch.device("cpu"))
    warned = [r.getMessage() for r in caplog.records if "0123456789abcdef" in r.getMessage()]
    assert warned and get_adapter(adapter.NAME).repo.tested_commit in warned[0]
    assert recipe.code["backbone"].__file__ == str(other.resolve() / "backbone.py")
