"""Adapter ``mgn-seathiefwang`` against seathiefwang/MGN-pytorch's own code, in the checkout that
$AMLFS_MGN_CHECKOUT names (the repository has no licence: no copy ships with amlfs or runs in CI).
At the identity ``theta`` its loss is the repository's ``loss.Loss`` (values and gradients), its
training step is ``Trainer.train`` with that loss; end to end on a tiny Market-1501 fixture (train,
evaluate, checkpoint, initialize); the checkout's errors."""
from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import amlfs
from amlfs.baselines import BaselineError, build_recipe
from amlfs.baselines.mgn import batch_hard_triplet_loss
from amlfs.checkpoint.state import pack_state, unpack_state
from amlfs.fixtures.reid import write_reid_fixture
from amlfs.loss.linear_head import cosine_and_scale
from amlfs.upstream import get_adapter, open_checkout
from amlfs.upstream import seathiefwang_mgn as adapter

from ..baselines.fakes import FakeTask

CHECKOUT = os.environ.get("AMLFS_MGN_CHECKOUT")
pytestmark = pytest.mark.skipif(
    not CHECKOUT, reason="AMLFS_MGN_CHECKOUT is unset: seathiefwang/MGN-pytorch has no licence, so no copy "
                         "ships with amlfs or CI; set it to your checkout (tested at 384e820)")
# 2 training identities (P = 2, K = 2: one step of 4 images), MGN's fixed 384 x 128 input.
TINY = {"p": 2, "k": 2, "numWorkers": 0, "evalBatchSize": 16, "strict": False}


@pytest.fixture(autouse=True)
def two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def repo():
    path = Path(CHECKOUT)
    if not path.is_dir():
        pytest.fail(f"AMLFS_MGN_CHECKOUT={CHECKOUT} is not a folder")
    return path


@pytest.fixture(scope="module")
def checkout(repo):
    return open_checkout(get_adapter(adapter.NAME).repo, str(repo))


@pytest.fixture(scope="module")
def code(checkout):
    return adapter.RepositoryCode(checkout)


@pytest.fixture(scope="module")
def market_root(tmp_path_factory):
    """3 training ids x 4 images of 32 x 16 pixels (1 becomes the validation id: 2 x 4 train), 3 test ids."""
    root = tmp_path_factory.mktemp("market") / "Market-1501-v15.09.15"
    write_reid_fixture(str(root), "market", ids=3, per_id=4, height_px=32, width_px=16)
    return str(root)


def experiment(root, repo, seed=0, **options):
    return {
        "name": "seathiefwang", "seed": seed,
        "baseline": {"name": "upstream", "options": {"adapter": adapter.NAME, "repo": repo and str(repo), **TINY, **options}},
        "dataset": {"kind": "market1501", "root": root, "splits": {"valFraction": 0.34, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 400},
        "reward": {"metric": "mAP"},
    }


# --- the loss --------------------------------------------------------------------------------------


class Heads(nn.Module):
    """MGN's 8 classification heads under their names in model/mgn.py (``nn.Linear`` with bias), fed
    given 256-d features: ``forward`` returns MGN.forward's tuple
    ``(predict, fg_p1, fg_p2, fg_p3, l_p1, l_p2, l_p3, l0_p2, l1_p2, l0_p3, l1_p3, l2_p3)``."""

    def __init__(self, dim, classes):
        super().__init__()
        for name in adapter.HEADS:
            setattr(self, name, nn.Linear(dim, classes))

    def forward(self, features):
        logits = [getattr(self, name)(f) for name, f in zip(adapter.HEADS, features)]
        return (torch.cat(features, dim=1), *features[:3], *logits)


@pytest.fixture(scope="module")
def args(checkout):
    return adapter.parse_option_argv(checkout, [*adapter.DEMO_ARGV, "--cpu", "--nGPU", "1"])


def repository_loss(code, args):
    """The repository's ``Loss`` as main.py builds it, its log started as ``Trainer.train`` does."""
    loss = code.Loss(args, adapter.LogOnly())
    loss.start_log()
    return loss


def heads_batch(seed):
    torch.manual_seed(seed)
    net = Heads(16, 5).double()
    features = [torch.randn(8, 16, dtype=torch.float64, requires_grad=True) for _ in adapter.HEADS]
    y = torch.tensor([0, 0, 1, 1, 2, 2, 4, 4])
    return net, features, y


def test_at_identity_the_loss_is_the_repositorys_loss(code, args):
    """Values and gradients (features, head weights and biases) of the adapter's loss at the identity
    theta and of the repository's unedited ``Loss`` (8 x CrossEntropy, 2 x TripletLoss), float64; both
    equal an independent sum: mean of 8 cross-entropies + 2 x mean of 3 batch-hard triplet losses."""
    net, features, y = heads_batch(0)
    taps = adapter.HeadTaps(net)
    searched = amlfs.SearchedSoftmaxLoss(6)
    ours_loss = adapter.with_searched_heads(repository_loss(code, args), searched, taps)
    theirs_loss = repository_loss(code, args)
    assert [(t["type"], t["weight"]) for t in theirs_loss.loss] == [("CrossEntropy", 1.0), ("Triplet", 2.0),
                                                                       ("Total", 0)]

    inputs = [*features, *net.parameters()]
    ours = ours_loss(net(features), y)
    grads = torch.autograd.grad(ours, inputs)
    theirs = theirs_loss(net(features), y)
    ref_grads = torch.autograd.grad(theirs, inputs)
    assert torch.allclose(ours, theirs, rtol=1e-12, atol=0)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, rtol=1e-10, atol=1e-13)

    outputs = net(features)
    by_hand = (torch.stack([F.cross_entropy(logits, y) for logits in outputs[4:]]).mean()
               + 2 * torch.stack([batch_hard_triplet_loss(f, y, 1.2) for f in outputs[1:4]]).mean())
    assert torch.allclose(theirs, by_hand, rtol=1e-12, atol=0)
    assert searched.stats.summary()["examples"] == 8 * 8  # every head's samples reached the searched loss
    taps.remove()


def test_away_from_identity_only_the_heads_cross_entropy_changes(code, args):
    net, features, y = heads_batch(1)
    taps = adapter.HeadTaps(net)
    searched = amlfs.SearchedSoftmaxLoss(6)
    theta = searched.theta
    theta[:6] = 0.7  # a_t: a flatter target-logit transform
    searched.set_theta(theta)
    loss = adapter.with_searched_heads(repository_loss(code, args), searched, taps)
    with torch.no_grad():
        ours = loss(net(features), y)
        outputs = net(features)
        heads = [cosine_and_scale(f, getattr(net, name).weight, bias=getattr(net, name).bias)
                 for name, f in zip(adapter.HEADS, features)]
        searched_part = torch.stack([amlfs.searched_softmax_loss(c, y, theta, s) for c, s in heads]).mean()
        triplet = torch.stack([batch_hard_triplet_loss(f, y, 1.2) for f in outputs[1:4]]).mean()
        cross_entropy = torch.stack([F.cross_entropy(logits, y) for logits in outputs[4:]]).mean()
    assert float(ours) == pytest.approx(float(searched_part + 2 * triplet), rel=1e-12)
    assert float(searched_part) != pytest.approx(float(cross_entropy), rel=1e-3)  # theta changed the loss
    taps.remove()


def test_logits_from_no_head_are_an_error(code, args):
    net, features, y = heads_batch(2)
    taps = adapter.HeadTaps(net)
    loss = adapter.with_searched_heads(repository_loss(code, args), amlfs.SearchedSoftmaxLoss(6), taps)
    outputs = net(features)
    forged = (*outputs[:4], outputs[4] + 0.0, *outputs[5:])
    with pytest.raises(BaselineError, match="logits that no classification head of MGN produced"):
        loss(forged, y)
    taps.remove()
    with pytest.raises(BaselineError, match="no classification head"):
        loss(net(features), y)  # the hooks are gone: nothing was recorded


# --- the recipe ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(market_root, repo):
    return build_recipe(experiment(market_root, repo), torch.device("cpu"))


def test_the_recipe_is_built_as_main_py_builds_it(built):
    args = built.args
    # demo.sh line 50 (its best run), and option.py's defaults for the rest
    assert (args.optimizer, args.lr, args.amsgrad, args.epochs, args.decay_type) == ("ADAM", 2e-4, True, 400,
                                                                                      "step_320_380")
    assert (args.loss, args.margin, args.random_erasing, args.probability) == ("1*CrossEntropy+2*Triplet", 1.2,
                                                                               True, 0.5)
    assert (args.height, args.width, args.pool, args.feats, args.weight_decay) == (384, 128, "avg", 256, 5e-4)
    assert (args.batchid, args.batchimage, args.num_classes, args.nThread, args.cpu) == (2, 2, 2, 0, True)
    assert isinstance(built.optimizer, torch.optim.Adam)
    assert {k: built.optimizer.defaults[k] for k in ("lr", "betas", "eps", "weight_decay", "amsgrad")} == {
        "lr": 2e-4, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 5e-4, "amsgrad": True}
    trained = {id(p) for group in built.optimizer.param_groups for p in group["params"]}
    assert trained == {id(p) for p in built.model.parameters()}
    assert isinstance(built.scheduler, torch.optim.lr_scheduler.MultiStepLR)
    assert dict(built.scheduler.milestones) == {320: 1, 380: 1} and built.scheduler.gamma == 0.1
    net = built.model.get_model()
    assert type(net).__name__ == "MGN" and net.fc_id_256_2_2.weight.shape == (2, 256)
    assert type(net.maxpool_zg_p1).__name__ == "AvgPool2d"
    assert built.dataset_sizes() == {"train": 8, "val": 4, "test": 6 + 14}
    ours = {pid: label for pid, label in zip(built.data.train.images.pids, built.data.train.labels)}
    assert built.loader.trainset._id2label == ours
    assert len(built.loader.train_loader) == 1  # RandomSampler: 2 ids x K images, batches of P x K
    assert set(built.reward_metrics) == {"mAP", "rank1"}


def test_one_epoch_is_trainer_train_with_the_repositorys_loss(built, code):
    """One epoch (2 ids, P = 2: one step) of the adapter at the identity theta, and the same epoch as
    ``Trainer.train`` runs it with the repository's unedited ``Loss`` (its loader, sampler, transforms,
    Adam with amsgrad, MultiStepLR), from the same weights under the same seeds: the same loss,
    gradients (Adam's first moment), weights and batch-norm statistics."""
    start = copy.deepcopy(built.model.state_dict())
    task = FakeTask(seed=7)
    stats = built.train_epoch(task, amlfs.SearchedSoftmaxLoss(6))
    assert stats.steps == 1 and stats.samples == 4 and task.steps[0][:2] == (1, 1)
    assert built.scheduler.last_epoch == 1 and built.optimizer.param_groups[0]["lr"] == pytest.approx(2e-4)

    torch.manual_seed(0)
    reference = built.make_model()
    reference.load_state_dict(start)
    ckpt = adapter.LogOnly()
    theirs_loss = code.Loss(built.args, ckpt)
    trainer = code.Trainer(built.args, reference, theirs_loss, built.loader, ckpt)
    adapter.seed_task_rngs(task.generator())
    trainer.train()
    assert float(theirs_loss.log[-1, -1]) == pytest.approx(task.steps[0][2], rel=1e-5)
    assert trainer.scheduler.last_epoch == 1

    ours = dict(built.model.named_parameters())
    moved = 0.0
    for name, p in reference.named_parameters():
        mine = built.optimizer.state[ours[name]]["exp_avg"]
        theirs = trainer.optimizer.state[p]["exp_avg"]
        assert torch.allclose(mine, theirs, rtol=1e-3, atol=1e-5 * float(theirs.abs().max()) + 1e-9), name
        delta, ref_delta = ours[name].detach() - start[name], p.detach() - start[name]
        # Adam's first step is lr * g / (|g| + 1e-8): its sign follows the rounding noise of small gradients
        strong = theirs.abs() > 1e-6 * float(theirs.abs().max()) + 1e-7
        assert torch.allclose(delta[strong], ref_delta[strong], rtol=1e-2, atol=1e-9), name
        moved = max(moved, float(ref_delta.abs().max()))
    assert moved > 1e-4  # the step moved the weights (by about lr = 2e-4)
    for name, buffer in reference.named_buffers():
        assert torch.allclose(built.model.state_dict()[name].double(), buffer.double(), rtol=1e-5, atol=1e-6), name


def test_end_to_end_evaluation_checkpoint_and_initialize(built, market_root, repo):
    for split in ("val", "test"):
        metrics = built.evaluate(split)
        assert set(metrics) >= {"mAP", "rank1"} and all(0.0 <= v <= 1.0 for v in metrics.values())
    with pytest.raises(BaselineError, match="val or test"):
        built.evaluate("train")
    branches = built.softmax_branches(3)
    assert len(branches) == 8
    for branch, name in zip(branches, adapter.HEADS):
        assert branch.cosine.shape == branch.scale.shape == (3, 2) and branch.target.tolist() == [0, 0, 0]
        assert float(branch.cosine.abs().max()) <= 1 + 1e-6

    packed = pack_state(built.model, built.optimizer, built.scheduler, epoch=built.scheduler.last_epoch)
    other = build_recipe(experiment(market_root, repo, seed=5), torch.device("cpu"))
    fresh = copy.deepcopy(other.model.state_dict())
    assert unpack_state(packed.data, other.model, other.optimizer, other.scheduler) == built.scheduler.last_epoch
    assert other.scheduler.state_dict() == built.scheduler.state_dict()
    # the same task from the same state gives the same weights, whatever ran in the process before
    for recipe in (built, other):
        torch.manual_seed(recipe is other)
        recipe.train_epoch(FakeTask(seed=11), amlfs.SearchedSoftmaxLoss(6))
    for (name, a), b in zip(built.model.state_dict().items(), other.model.state_dict().values()):
        assert torch.equal(a, b), name

    built.initialize(5)
    assert built.scheduler.last_epoch == 0 and not built.optimizer.state
    assert built.optimizer.param_groups[0]["lr"] == 2e-4
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
    with mock.patch.object(built, "_pretrained", adapter.mgn_imagenet_state(str(tmp_path / "resnet50.pth"))):
        net = built.make_model().get_model()
    assert torch.equal(net.backone[0].weight, imagenet["conv1.weight"])
    assert torch.equal(net.p1[1][2].conv3.weight, imagenet["layer4.2.conv3.weight"])
    assert torch.equal(net.p2[1][0].downsample[0].weight, imagenet["layer4.0.downsample.0.weight"])

    torch.save({"conv1.weight": imagenet["conv1.weight"], "head.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with mock.patch.object(built, "_pretrained", adapter.mgn_imagenet_state(str(tmp_path / "other.pth"))):
        with pytest.raises(BaselineError, match="pretrainedPath.*does not load into torchvision's resnet50"):
            built.make_model()
    torch.save({"model": imagenet}, tmp_path / "wrapped.pth")
    with pytest.raises(BaselineError, match="pretrainedPath.*not a torchvision ResNet-50"):
        adapter.mgn_imagenet_state(str(tmp_path / "wrapped.pth"))


# --- errors ----------------------------------------------------------------------------------------


def test_a_last_batch_of_one_identity_is_refused(tmp_path_factory, repo):
    root = tmp_path_factory.mktemp("market4") / "Market"
    write_reid_fixture(str(root), "market", ids=4, per_id=4, height_px=32, width_px=16)  # 3 training ids
    with pytest.raises(BaselineError, match=r"`baseline.options.p`: 2 identities per batch leave a last batch of "
                                            r"one identity of the training split's 3"):
        build_recipe(experiment(str(root), repo), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.p`: expected a positive integer or null, got 0"):
        build_recipe(experiment(str(root), repo, p=0), torch.device("cpu"))


def linked_checkout(repo, folder, skip=()):
    """A tree of symlinks to the adapter's files of ``repo``, less ``skip``."""
    for name in get_adapter(adapter.NAME).repo.files:
        if name not in skip:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).symlink_to(repo / name)
    return folder


def test_a_folder_that_is_not_the_checkout(market_root, repo, tmp_path):
    with pytest.raises(BaselineError, match=r"`baseline.options.repo`: .* is not a checkout of "
                                            r"seathiefwang/MGN-pytorch: missing option.py"):
        build_recipe(experiment(market_root, tmp_path), torch.device("cpu"))
    partial = linked_checkout(repo, tmp_path / "partial", skip=("model/mgn.py",))
    with pytest.raises(BaselineError, match=r"missing model/mgn.py"):
        build_recipe(experiment(market_root, partial), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"expected the folder of a checkout of seathiefwang/MGN-pytorch"):
        build_recipe(experiment(market_root, None), torch.device("cpu"))


def test_another_commit_is_a_warning_naming_both_and_its_own_files_are_imported(market_root, repo, tmp_path,
                                                                                caplog):
    """A checkout of exactly the adapter's ``files`` builds (they are all it imports), at another commit."""
    other = linked_checkout(repo, tmp_path / "other")
    (other / "COMMIT").write_text("0123456789abcdef0123456789abcdef01234567\n")
    with caplog.at_level(logging.WARNING, logger="amlfs.upstream"):
        recipe = build_recipe(experiment(market_root, other), torch.device("cpu"))
    warned = [r.getMessage() for r in caplog.records if "0123456789abcdef" in r.getMessage()]
    assert warned and get_adapter(adapter.NAME).repo.tested_commit in warned[0]
    assert recipe.code.mgn.__file__ == str(other.resolve() / "model" / "mgn.py")
    assert recipe.code.data.__file__ == str(other.resolve() / "data" / "__init__.py")
