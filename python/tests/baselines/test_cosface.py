"""CosFace: the fixed CosFace head equals the searched head at cosineMargin(0.40); the face recipe's schedule,
option errors and the verification metrics on a tiny CASIA-WebFace / LFW fixture."""
import math

import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import BaselineError, build_recipe
from amlfs.eval import evaluate_verification
from amlfs.heads import ArcFaceHead, CosFaceHead, SearchedHead, SoftmaxHead, SphereFaceHead
from amlfs.loss import SearchSpace

from .fakes import FACE_TINY, FakeTask


def experiment(root, mode="amlfs", epochs=4, **options):
    return {
        "name": "cosface-smoke", "seed": 0,
        "baseline": {"name": "cosface", "options": {**FACE_TINY, **options}},
        "dataset": {"kind": "casia-webface", "root": root, "splits": {"valFraction": 0.2, "splitSeed": 0}},
        "search": {"mode": mode, "B": 1 if mode == "baseline" else 2, "M": 6, "epochs": epochs},
        "reward": {"metric": "verificationAccuracy"},
    }


def test_cosface_head_trains_as_the_searched_head_at_the_cosface_point(face_root):
    """One epoch with the fixed CosFace head (s = 30, m = 0.40) and one with the searched head at
    theta = cosineMargin(0.40), from the same seed and task: the same weights."""
    fixed = build_recipe(experiment(face_root, mode="baseline", head="cosface"), torch.device("cpu"))
    searched = build_recipe(experiment(face_root), torch.device("cpu"))
    assert isinstance(fixed.model.head, CosFaceHead) and isinstance(searched.model.head, SearchedHead)
    assert fixed.softmax_branches(4) == [] and len(searched.softmax_branches(4)) == 1
    assert torch.equal(fixed.model.head.weight, searched.model.head.weight)
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    loss_fn.set_theta(SearchSpace(6).cosine_margin(0.40))
    a = fixed.train_epoch(FakeTask(), amlfs.SearchedSoftmaxLoss(6))  # the fixed head ignores the searched loss
    b = searched.train_epoch(FakeTask(), loss_fn)
    assert a.mean_loss == pytest.approx(b.mean_loss, rel=1e-5)
    assert torch.allclose(fixed.model.head.weight, searched.model.head.weight, atol=1e-5)
    for p, q in zip(fixed.model.trunk.parameters(), searched.model.trunk.parameters()):
        assert torch.allclose(p, q, atol=1e-5)


def test_searched_head_at_identity_is_normalized_softmax(face_root):
    recipe = build_recipe(experiment(face_root), torch.device("cpu"))
    [branch] = recipe.softmax_branches(6)
    assert branch.scale == 30.0
    embedding = recipe.model.embed(torch.zeros(1, 3, 32, 32))
    assert embedding.shape == (1, 32)
    weight = recipe.model.head.weight
    assert branch.cosine.shape == (6, weight.shape[0])
    loss = amlfs.SearchedSoftmaxLoss(6)(branch.cosine, branch.target, branch.scale)
    assert torch.allclose(loss, F.cross_entropy(30.0 * branch.cosine, branch.target), atol=1e-5)


def test_upstream_milestones_are_main_py_iterations(face_root):
    """MuggleWang main.py adjust_learning_rate: the LR drops before global iteration 16000 and 24000
    (1-based), whatever the run's length: the scheduler's milestones are 15999 and 23999 steps."""
    recipe = build_recipe(experiment(face_root, epochs=4), torch.device("cpu"))
    assert recipe.config.milestones == (15_999, 23_999)
    small = build_recipe(experiment(face_root, epochs=4, milestoneIterations=[3, 7]), torch.device("cpu"))
    lrs = []
    for _ in range(2):
        task = FakeTask()
        original = task.progress
        task.progress = lambda *a, **k: (lrs.append(small.optimizer.param_groups[0]["lr"]), original(*a, **k))[1]
        small.train_epoch(task, amlfs.SearchedSoftmaxLoss(6))
    # main.py: iterations 1, 2 at 0.1; 3..6 at 0.01; 7.. at 0.001 (the LR each step ran at)
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001])


def test_milestones_are_iterations_stretched_to_the_run(face_root):
    recipe = build_recipe(experiment(face_root, epochs=4, recipe="paper"), torch.device("cpu"))
    assert recipe.dataset_sizes() == {"train": 80, "val": 20, "test": 20}  # 16 kept ids x 5; 2 folds x (5 + 5)
    total = 4 * (80 // 16)
    assert recipe.config.milestones == tuple(math.floor(m * total / 30_000 + 0.5) for m in (16_000, 24_000, 28_000))
    group = recipe.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.1, 0.9, 5e-4)
    for _ in range(4):
        recipe.train_epoch(FakeTask(), amlfs.SearchedSoftmaxLoss(6))
    assert recipe.scheduler.last_epoch == total and group["lr"] == pytest.approx(1e-4)


def test_test_split_is_lfw_verification(face_root):
    recipe = build_recipe(experiment(face_root), torch.device("cpu"))
    metrics = recipe.evaluate("test")
    index = recipe.data.pairs("test").as_index()
    features = recipe.extract(index.paths)
    assert features.shape == (len(index.paths), 2 * 32)  # concat(image, flip)
    a, b = features[index.index[:, 0]], features[index.index[:, 1]]
    scores = [float(x @ y / (x.norm() * y.norm())) for x, y in zip(a, b)]
    expected = evaluate_verification(scores, index.same, index.fold)
    assert expected.num_folds == 2 and expected.num_pairs == 20
    assert metrics["verificationAccuracy"] == pytest.approx(expected.accuracy, abs=1e-6)
    assert metrics["verificationAccuracyStd"] == pytest.approx(expected.accuracy_std, abs=1e-6)


def test_option_errors(face_root):
    with pytest.raises(BaselineError, match=r"`baseline.options.head`: the fixed head 'arcface' .*search.mode"):
        build_recipe(experiment(face_root, head="arcface"), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.head`: expected one of .*\"sphereface\""):
        build_recipe(experiment(face_root, head="lsoftmax"), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.headOptions.marginDeg`: unknown option"):
        build_recipe(experiment(face_root, mode="baseline", head="arcface", headOptions={"marginDeg": 28.6}),
                     torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.batchSize`: 512 exceeds the 80 training images"):
        build_recipe(experiment(face_root, batchSize=512), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.milestoneIterations`: 40000 is past"):
        build_recipe(experiment(face_root, milestoneIterations=[16_000, 40_000], milestoneScaling="stretched"),
                     torch.device("cpu"))
    for head, kind in (("softmax", SoftmaxHead), ("sphereface", SphereFaceHead), ("arcface", ArcFaceHead)):
        recipe = build_recipe(experiment(face_root, mode="baseline", head=head), torch.device("cpu"))
        assert isinstance(recipe.model.head, kind)
