"""Adapter ``cosface-mugglewang`` against MuggleWang/CosFace_pytorch's own code (the unedited snapshot in
$AMLFS_UPSTREAM_DIR): at ``theta = cosineMargin(0.40)`` its loss is the repository's
``MarginCosineProduct(m=0.40)`` + ``CrossEntropyLoss`` and its epoch is ``main.train`` with that loss; it
matches the built-in ``cosface`` at the CosFace point; its descriptor is ``lfw_eval.extractDeepFeature``'s;
end to end on a tiny CASIA-WebFace fixture; the checkout's errors."""
from __future__ import annotations

import contextlib
import copy
import logging
import os
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import amlfs
from amlfs.baselines import BaselineError, build_recipe
from amlfs.baselines import face_recipe
from amlfs.baselines.recipe import seed_global_rng
from amlfs.checkpoint.state import pack_state, unpack_state
from amlfs.data.face import load_face, normalize_face
from amlfs.fixtures.face import write_face_fixture
from amlfs.task_errors import NonFiniteLoss
from amlfs.upstream import get_adapter, open_checkout
from amlfs.upstream import mugglewang_cosface as adapter

from ..baselines.fakes import FakeTask

SNAPSHOT = "MuggleWang-CosFace_pytorch"
TINY = {"batchSize": 8, "numWorkers": 0, "evalBatchSize": 32, "strict": False}
COSFACE_M = 0.40
# main.py's SGD, written out here as the reference the adapter must match
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5e-4


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
def code(repo):
    """The checkout's modules, as the adapter imports them."""
    return SimpleNamespace(**adapter.import_scripts(open_checkout(get_adapter(adapter.NAME).repo, str(repo))))


@pytest.fixture(scope="module")
def face_root(tmp_path_factory):
    """CASIA-WebFace: 10 ids x 3 images of 112 x 96 (4 become validation ids: 6 x 3 = 18 training images,
    two batches of 8); LFW: 8 names, 2 folds of 5 + 5 pairs."""
    root = tmp_path_factory.mktemp("face")
    write_face_fixture(str(root), ids=10, per_id=3)
    return str(root)


def experiment(root, repo, seed=0, **options):
    return {
        "name": "mugglewang", "seed": seed,
        "baseline": {"name": "upstream", "options": {"adapter": adapter.NAME, "repo": str(repo), **TINY, **options}},
        "dataset": {"kind": "casia-webface", "root": root, "splits": {"valFraction": 0.4, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 2},
        "reward": {"metric": "verificationAccuracy"},
    }


@pytest.fixture(scope="module")
def built(face_root, repo):
    return build_recipe(experiment(face_root, repo), torch.device("cpu"))


def cosface_loss(num_intervals=6):
    loss_fn = amlfs.SearchedSoftmaxLoss(num_intervals)
    loss_fn.set_theta(loss_fn.space.cosine_margin(COSFACE_M))
    return loss_fn


def params(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


# --- the loss --------------------------------------------------------------------------------------


def test_at_the_cosface_point_the_loss_is_the_repositorys_margin_cosine_product(code):
    torch.manual_seed(0)
    theirs = code.layer.MarginCosineProduct(16, 5).double()  # unedited: s = 30, m = 0.40
    ours = code.layer.MarginCosineProduct(16, 5, m=0.0).double()
    ours.weight.data.copy_(theirs.weight.data)
    assert theirs.m == COSFACE_M and theirs.s == ours.s == 30.0
    x = torch.randn(10, 16, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 4, 4, 3, 2, 1, 0])

    task = FakeTask()
    criterion = adapter.SearchedCriterion(cosface_loss(), ours.s, adapter.EpochProgress(task, 1))
    loss = criterion(ours(x, y), y)
    grads = torch.autograd.grad(loss, (x, ours.weight))
    reference = nn.CrossEntropyLoss()(theirs(x, y), y)
    ref_grads = torch.autograd.grad(reference, (x, theirs.weight))
    assert torch.allclose(loss, reference, rtol=1e-12, atol=0)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, rtol=1e-10, atol=1e-14)

    # the margin is the searched loss's: at the identity theta the same output gives the plain softmax
    plain = adapter.SearchedCriterion(amlfs.SearchedSoftmaxLoss(6), ours.s, adapter.EpochProgress(task, 1))
    assert float(plain(ours(x, y), y).detach()) < float(reference.detach()) - 1.0


def test_a_non_finite_loss_fails_the_task_before_any_parameter_moves(built):
    built.initialize(0)
    start = copy.deepcopy(built.model.state_dict())
    task = FakeTask(seed=2)

    def nan_loss(cosine, target, scale):
        return cosine.sum() * float("nan")

    with pytest.raises(NonFiniteLoss, match="loss is NaN at step 1"):
        built.train_epoch(task, nan_loss)
    assert not built.optimizer.state and task.steps == []
    for name, value in built.model.state_dict().items():
        assert torch.equal(value, start[name]), name


# --- the recipe ------------------------------------------------------------------------------------


def test_the_recipe_is_built_as_main_builds_it(built, code, face_root):
    model = built.model
    assert isinstance(model.net, code.net.sphere) and len(model.net.layer3) == 2 + 4  # sphere20: 1-2-4-1 units
    assert isinstance(model.classifier, code.layer.MarginCosineProduct)
    assert model.classifier.m == 0.0 and model.classifier.s == 30.0
    assert tuple(model.classifier.weight.shape) == (6, 512)  # 6 training identities after the validation split
    opt = built.optimizer
    assert isinstance(opt, torch.optim.SGD) and len(opt.param_groups) == 2
    assert [{id(p) for p in g["params"]} for g in opt.param_groups] == [
        {id(p) for p in model.net.parameters()}, {id(p) for p in model.classifier.parameters()}]
    for group in opt.param_groups:
        assert (group["lr"], group["momentum"], group["weight_decay"]) == (LR, MOMENTUM, WEIGHT_DECAY)
    assert built.args.step_size == [16000, 24000] and built.args.batch_size == 8
    assert built.scheduler.state_dict() == {"epoch": 0}
    assert built.dataset_sizes() == {"train": 18, "val": 24, "test": 20}

    # the list file, read back by the repository's ImageList, is our training split
    train = built.data.train
    assert [(os.path.join(built.train_set.root, path), label) for path, label in built.train_set.imgList] == \
        list(zip(train.paths, train.labels))
    loader = built.train_loader()
    assert loader.batch_size == 8 and loader.drop_last and len(loader) == 2

    # the training transform: the image or its mirror, (x / 255 - 0.5) / 0.5
    pixels = normalize_face(load_face(train.paths[0]))
    seen = set()
    for seed in range(8):
        torch.manual_seed(seed)
        image, label = built.train_set[0]
        assert label == train.labels[0]
        flipped = torch.allclose(image, pixels.flip(-1), atol=1e-6)
        assert flipped or torch.allclose(image, pixels, atol=1e-6)
        seen.add(flipped)
    assert seen == {True, False}

    # the initial weights are drawn in main()'s order: sphere20, its evaluation twin, the classifier
    built.initialize(3)
    torch.manual_seed(3)
    net = code.net.sphere(type=20)
    code.net.sphere(type=20)
    classifier = code.layer.MarginCosineProduct(512, 6)
    for name, value in built.model.state_dict().items():
        assert torch.equal(value, {**{f"net.{k}": v for k, v in net.state_dict().items()},
                                   "classifier.weight": classifier.weight.detach()}[name]), name


def test_importing_main_leaves_argv_cudnn_and_bytecode_as_they_were(repo):
    checkout = open_checkout(get_adapter(adapter.NAME).repo, str(repo))
    argv, bytecode = list(sys.argv), sys.dont_write_bytecode
    for name in adapter.SCRIPTS:
        sys.modules.pop(name, None)
    with mock.patch.object(sys, "argv", ["worker", "--not-main-py-s-option"]):
        torch.backends.cudnn.benchmark = False
        scripts = adapter.import_scripts(checkout)
        assert sys.argv == ["worker", "--not-main-py-s-option"]
    assert torch.backends.cudnn.benchmark is False and sys.dont_write_bytecode == bytecode
    assert scripts["main"].args.database == "WebFace" and scripts["main"].args.num_class == 10572
    assert scripts["main"].net is scripts["net"] and scripts["main"].layer is scripts["layer"]
    assert sys.argv == argv


@contextlib.contextmanager
def in_float64(recipe):
    """``recipe``'s model and training images in float64 for the block (rounding then stays far below
    what the tests compare), then back to float32 and fresh weights."""
    to_float32 = recipe.train_set.transform
    recipe.model.double()
    try:
        with mock.patch.object(recipe.train_set, "transform", lambda image: to_float32(image).double()):
            yield recipe
    finally:
        recipe.model.float()
        recipe.initialize(0)


def test_one_epoch_is_main_train_with_the_repositorys_own_loss(built, code):
    """Two steps of the adapter at ``cosineMargin(0.40)``, and the same epoch as main.py runs it (its
    ``train``, an unedited ``MarginCosineProduct`` with m = 0.40, ``CrossEntropyLoss``, SGD over its two
    groups) under the same seeds, from the same weights (float64): the same batches, losses, momenta and
    weights."""
    built.initialize(0)
    with in_float64(built):
        reference = copy.deepcopy(built.model)
        task = FakeTask(seed=7)
        stats = built.train_epoch(task, cosface_loss())
        assert stats.steps == 2 and stats.samples == 16 and built.scheduler.epoch == 1
        assert [step[:2] for step in task.steps] == [(1, 2), (2, 2)] and [step[3] for step in task.steps] == [8, 16]

        classifier = code.layer.MarginCosineProduct(512, 6).double()
        classifier.weight.data.copy_(reference.classifier.weight.data)
        optimizer = torch.optim.SGD([{"params": reference.net.parameters()}, {"params": classifier.parameters()}],
                                    lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
        losses = []
        criterion = nn.CrossEntropyLoss()

        def recorded(output, target):
            loss = criterion(output, target)
            losses.append(float(loss.detach()))
            return loss

        seed_global_rng(task.generator())
        with built.script() as main:
            main.train(built.train_loader(), reference.net, classifier, recorded, optimizer, 1)
        assert [step[2] for step in task.steps] == pytest.approx(losses, rel=1e-10)
        assert stats.mean_loss == pytest.approx(sum(losses) / 2, rel=1e-10)

        ours = dict(built.model.named_parameters())
        theirs = {f"net.{k}": v for k, v in reference.net.named_parameters()}
        theirs["classifier.weight"] = classifier.weight
        for name, p in theirs.items():
            mine = built.optimizer.state[ours[name]]["momentum_buffer"]
            ref = optimizer.state[p]["momentum_buffer"]
            assert torch.allclose(mine, ref, rtol=1e-7, atol=1e-10 * float(ref.abs().max())), name
            assert torch.allclose(ours[name].detach(), p.detach(), rtol=1e-9, atol=1e-12), name
        assert float((ours["classifier.weight"] - reference.classifier.weight).detach().abs().max()) > 1e-4  # moved


def test_the_iteration_continues_across_epochs_and_checkpoints(built, face_root, repo):
    """With the LR step at iteration 3 and two steps per epoch, the LR is 0.1 after the first epoch and
    0.01 after the second, also when that second epoch runs in another recipe from the checkpoint; the
    same task from the same state gives the same weights."""
    built.initialize(0)
    other = build_recipe(experiment(face_root, repo, seed=5), torch.device("cpu"))
    with mock.patch.object(built.args, "step_size", [3]), mock.patch.object(other.args, "step_size", [3]):
        built.train_epoch(FakeTask(seed=1), cosface_loss())
        assert [g["lr"] for g in built.optimizer.param_groups] == [LR, LR]
        packed = pack_state(built.model, built.optimizer, built.scheduler, epoch=built.scheduler.epoch)
        assert unpack_state(packed.data, other.model, other.optimizer, other.scheduler) == 1
        assert other.scheduler.epoch == 1
        for recipe in (built, other):
            torch.manual_seed(recipe is other)  # whatever ran before in the process
            recipe.train_epoch(FakeTask(seed=11), cosface_loss())
            assert [g["lr"] for g in recipe.optimizer.param_groups] == pytest.approx([LR / 10, LR / 10])
            assert recipe.scheduler.epoch == 2
    for (name, a), b in zip(built.model.state_dict().items(), other.model.state_dict().values()):
        assert torch.equal(a, b), name
    built.initialize(0)
    assert built.scheduler.epoch == 0 and not built.optimizer.state
    assert [g["lr"] for g in built.optimizer.param_groups] == [LR, LR]
    scratch = other._scratch
    other.remove_scratch()
    assert not os.path.exists(scratch)


class _StaysOnCpu(torch.Tensor):
    """A tensor whose ``.to('cuda')`` stays on the CPU: ``extractDeepFeature`` hard-codes ``'cuda'``."""

    def to(self, *args, **kwargs):
        if args and args[0] == "cuda":
            return self
        return super().to(*args, **kwargs)


class _CpuTransforms:
    """``torchvision.transforms`` for ``lfw_eval`` whose ``Compose`` hands back :class:`_StaysOnCpu` tensors."""

    def __getattr__(self, name):
        import torchvision.transforms

        return getattr(torchvision.transforms, name)

    def Compose(self, steps):  # noqa: N802 (torchvision's name)
        import torchvision.transforms

        compose = torchvision.transforms.Compose(steps)
        return lambda image: compose(image).as_subclass(_StaysOnCpu)


def test_the_descriptor_is_lfw_evals_extract_deep_feature(built, code):
    from PIL import Image

    built.initialize(0)
    paths = list(built.data.pairs("val").as_index().paths[:3])
    ours = built.extract(paths)
    assert ours.shape == (3, 1024)
    reference = []
    with mock.patch.object(code.lfw_eval, "transforms", _CpuTransforms()), torch.no_grad():
        for path in paths:
            with open(path, "rb") as f:
                image = Image.open(f).convert("RGB")
            reference.append(code.lfw_eval.extractDeepFeature(image, built.model.net, False).as_subclass(torch.Tensor))
    reference = torch.stack(reference)
    assert torch.allclose(ours, reference, rtol=1e-4, atol=1e-5)
    # lfw_eval's distance, f1 . f2 / (|f1| |f2| + 1e-5), against the reward's cosine similarity
    # (the 1e-5 aside, which the reward's cosine leaves out)
    norms = reference[0].norm() * reference[1].norm()
    theirs = reference[0] @ reference[1] / (norms + 1e-5)
    cosine = F.cosine_similarity(ours[0], ours[1], dim=0)
    assert float(cosine) == pytest.approx(float(theirs * (norms + 1e-5) / norms), rel=1e-5)


def test_end_to_end_evaluation_branches_and_checkpoint(built, face_root, repo):
    built.initialize(0)
    built.train_epoch(FakeTask(seed=3), amlfs.SearchedSoftmaxLoss(6))
    for split in ("val", "test"):
        metrics = built.evaluate(split)
        assert set(metrics) == {"verificationAccuracy", "verificationAccuracyStd", "tarAtFar1e-3"}
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
    with pytest.raises(BaselineError, match="val or test"):
        built.evaluate("train")

    [branch] = built.softmax_branches(4)
    train = built.data.train
    x = normalize_face(torch.stack([load_face(p) for p in train.paths[:4]]))
    with torch.no_grad():
        cosine = F.normalize(built.model.net(x), dim=1) @ F.normalize(built.model.classifier.weight, dim=1).t()
    assert branch.scale == 30.0 and branch.target.tolist() == list(train.labels[:4])
    assert torch.allclose(branch.cosine.detach(), cosine, atol=1e-5)

    packed = pack_state(built.model, built.optimizer, built.scheduler, epoch=built.scheduler.epoch)
    other = build_recipe(experiment(face_root, repo, seed=9), torch.device("cpu"))
    assert unpack_state(packed.data, other.model, other.optimizer, other.scheduler) == 1
    for (name, a), b in zip(built.model.state_dict().items(), other.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert other.evaluate("val") == built.evaluate("val")


# --- the built-in port ----------------------------------------------------------------------------


def builtin_state(state):
    """The adapter's state dict (sphere20's ``net.layer{i}.{j}.*``, ``classifier.weight [C, D]``) as the
    built-in cosface's (``trunk.stages.{i-1}.conv/prelu/units.{j-2}.*``, ``head.weight``)."""
    out = {}
    for key, value in state.items():
        if key == "classifier.weight":
            out["head.weight"] = value
            continue
        first, _, rest = key[len("net."):].partition(".")
        if first == "fc":
            out[f"trunk.fc.{rest}"] = value
            continue
        stage = int(first[len("layer"):]) - 1
        index, _, tail = rest.partition(".")
        index = int(index)
        part = ("conv" if index == 0 else "prelu") if index < 2 else f"units.{index - 2}"
        out[f"trunk.stages.{stage}.{part}" + (f".{tail}" if tail else "")] = value
    return out


def test_one_step_equals_the_built_in_cosface_at_the_cosface_point(built, face_root, repo):
    """The built-in ``cosface`` (searched head) and the adapter from the same weights: the same
    validation metrics (float32), then one step at ``cosineMargin(0.40)`` on the same batch (float64;
    each recipe's own data pipeline bypassed): the same loss, momenta and weights."""
    exp = experiment(face_root, repo)
    exp["baseline"] = {"name": "cosface", "options": {"batchSize": 8, "numWorkers": 0, "evalBatchSize": 32}}
    port = build_recipe(exp, torch.device("cpu"))
    built.initialize(4)
    mapped = builtin_state(built.model.state_dict())
    assert set(mapped) == set(port.model.state_dict()) - {"head.loss.theta_buffer"}
    port.model.load_state_dict(mapped, strict=False)
    assert built.evaluate("val") == pytest.approx(port.evaluate("val"))

    port.model.double()
    with in_float64(built):
        one_double_step(built, port)


def one_double_step(built, port):
    train = built.data.train
    pixels = torch.stack([load_face(p) for p in train.paths[:8:2] + train.paths[1:8:2]])
    y = torch.tensor(train.labels[:8:2] + train.labels[1:8:2])
    x = normalize_face(pixels).double()
    start = copy.deepcopy(built.model.state_dict())
    ours_task, port_task = FakeTask(seed=3), FakeTask(seed=3)
    with mock.patch.object(adapter, "DataLoader", lambda *args, **kwargs: [(x, y)]):
        built.train_epoch(ours_task, cosface_loss())
    with mock.patch.object(face_recipe, "DataLoader", lambda *args, **kwargs: [(pixels, y)]), \
            mock.patch.object(face_recipe, "face_train_augment",
                              lambda images, generator: normalize_face(images).double()):
        port.train_epoch(port_task, cosface_loss())

    assert ours_task.steps[0][2] == pytest.approx(port_task.steps[0][2], rel=1e-10)
    ported, before = builtin_state(built.model.state_dict()), builtin_state(start)
    ours_params = dict(zip(builtin_state(dict(built.model.named_parameters())), built.model.parameters()))
    port_params = dict(port.model.named_parameters())
    for name, value in port.model.state_dict().items():
        if name == "head.loss.theta_buffer":
            continue
        delta, port_delta = ported[name] - before[name], value - before[name]
        assert torch.allclose(delta, port_delta, rtol=1e-7, atol=1e-12), name
        mine = built.optimizer.state[ours_params[name]]["momentum_buffer"]
        theirs = port.optimizer.state[port_params[name]]["momentum_buffer"]
        assert torch.allclose(mine, theirs, rtol=1e-7, atol=1e-12 * float(theirs.abs().max()) + 1e-15), name


# --- errors ----------------------------------------------------------------------------------------


def test_a_folder_that_is_not_the_checkout(face_root, repo, tmp_path):
    with pytest.raises(BaselineError, match=r"`baseline.options.repo`: .* is not a checkout of "
                                            r"MuggleWang/CosFace_pytorch: missing net.py"):
        build_recipe(experiment(face_root, tmp_path), torch.device("cpu"))
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in get_adapter(adapter.NAME).repo.files:
        if name != "layer.py":
            (partial / name).symlink_to(repo / name)
    with pytest.raises(BaselineError, match=r"missing layer.py"):
        build_recipe(experiment(face_root, partial), torch.device("cpu"))


def test_another_commit_is_a_warning_naming_both(face_root, repo, tmp_path, caplog):
    other = tmp_path / "other"
    other.mkdir()
    for name in get_adapter(adapter.NAME).repo.files:
        (other / name).symlink_to(repo / name)
    (other / "COMMIT").write_text("0123456789abcdef0123456789abcdef01234567\n")
    with caplog.at_level(logging.WARNING, logger="amlfs.upstream"):
        recipe = build_recipe(experiment(face_root, other), torch.device("cpu"))
    warned = [r.getMessage() for r in caplog.records if "0123456789abcdef" in r.getMessage()]
    assert warned and get_adapter(adapter.NAME).repo.tested_commit in warned[0]
    assert recipe.code["main"].__file__ == str(other.resolve() / "main.py")
    assert recipe.code["main"].net is recipe.code["net"]


def test_options_the_repository_does_not_have_or_cannot_run(face_root, repo, tmp_path):
    with pytest.raises(BaselineError, match=r"`baseline.options.pretrainedPath`: adapter cosface-mugglewang "
                                            r"does not use it"):
        build_recipe(experiment(face_root, repo, pretrainedPath=str(tmp_path / "w.pth")), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.batchSize`: 19 images per batch, but the training "
                                            r"split has only 18"):
        build_recipe(experiment(face_root, repo, batchSize=19), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.batchSize`: 512 images per batch \(main.py's "):
        build_recipe(experiment(face_root, repo, batchSize=None), torch.device("cpu"))
    small = tmp_path / "small"
    write_face_fixture(str(small), ids=10, per_id=3, height_px=64, width_px=64)
    with pytest.raises(BaselineError, match=r"is 64 x 64 px; sphere20 takes aligned faces of 112 x 96"):
        build_recipe(experiment(str(small), repo), torch.device("cpu"))
