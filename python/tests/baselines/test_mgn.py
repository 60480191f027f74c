"""MGN: the 8 heads share the searched loss, the triplet losses stay; its recipe on a tiny Market-1501 fixture."""
import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import build_recipe
from amlfs.baselines.mgn import OPTIONS, PRESETS, MgnLoss, batch_hard_triplet_loss, config_from_options
from amlfs.baselines.options import parse_options
from amlfs.baselines.reid_recipe import lr_factor
from amlfs.checkpoint import pack_state, unpack_state

from amlfs.models import ResNet50
from amlfs.models.mgn_net import MgnNet

from .fakes import FakeTask

# one step of 16 images per epoch: MGN carries three ResNet-50 tails
TINY = {"p": 4, "k": 4, "heightPx": 64, "widthPx": 32, "reducedDim": 8, "numWorkers": 0, "evalBatchSize": 32,
        "strict": False}


def experiment(root, **options):
    return {
        "name": "mgn-smoke", "seed": 0,
        "baseline": {"name": "mgn", "options": {**TINY, **options}},
        "dataset": {"kind": "market1501", "root": root, "splits": {"valFraction": 0.34, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 4},
        "reward": {"metric": "mAP"},
    }


def triplet_by_hand(features, target, margin):
    terms = []
    for i in range(len(target)):
        d = [float((features[i] - features[j]).norm()) for j in range(len(target))]
        positive = max(d[j] for j in range(len(target)) if target[j] == target[i])
        negative = min(d[j] for j in range(len(target)) if target[j] != target[i])
        terms.append(max(0.0, positive - negative + margin))
    return sum(terms) / len(terms)


def test_batch_hard_triplet_by_hand():
    torch.manual_seed(0)
    features, target = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 0, 1, 1, 2, 2])
    assert float(batch_hard_triplet_loss(features, target, 1.2)) == pytest.approx(triplet_by_hand(features, target, 1.2))
    features.requires_grad_(True)
    batch_hard_triplet_loss(features, target, 1.2).backward()
    assert torch.isfinite(features.grad).all()


def test_identity_theta_gives_mean_cross_entropy_plus_triplets():
    torch.manual_seed(0)
    model = MgnNet(num_classes=5, reduced_dim=8)
    x, y = torch.randn(6, 3, 64, 32), torch.tensor([0, 0, 3, 3, 1, 1])
    outputs, scale = model.branch(x)
    assert scale is None and len(outputs.features) == 8 and all(f.shape == (6, 8) for f in outputs.features)
    assert all(head.bias is None for head in model.heads)
    loss = MgnLoss(amlfs.SearchedSoftmaxLoss(6), triplet_margin=1.2)(outputs, y)
    cross_entropy = sum(F.cross_entropy(logits, y) for logits in outputs.logits) / 8
    triplet = sum(triplet_by_hand(f.detach(), y, 1.2) for f in outputs.features[:3]) / 3
    assert float(loss.detach()) == pytest.approx(float(cross_entropy.detach()) + triplet, abs=1e-5)
    params = [p for module in (model.reductions, model.heads, model.branches[0][1][2]) for p in module.parameters()]
    reference = cross_entropy + sum(batch_hard_triplet_loss(f, y, 1.2) for f in outputs.features[:3]) / 3
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    for g, r in zip(grads, torch.autograd.grad(reference, params, allow_unused=True)):
        assert (g is None) == (r is None)
        if g is not None:
            assert torch.allclose(g, r, atol=1e-6 + 1e-4 * float(r.abs().max()), rtol=1e-3)

    model.eval()
    with torch.no_grad():
        features = model.features(x)
    assert features.shape == (6, 64) and torch.allclose(features.norm(dim=1), torch.ones(6), atol=1e-5)
    assert model.branches[0][1](torch.zeros(1, 1024, 4, 2)).shape[-2:] == (2, 1)  # global branch: stride 2
    assert model.branches[1][1](torch.zeros(1, 1024, 4, 2)).shape[-2:] == (4, 2)  # part branches: stride 1


def test_recipe_keeps_sgd_momentum_through_a_checkpoint(market_root):
    recipe = build_recipe(experiment(market_root, recipe="paper"), torch.device("cpu"))
    assert isinstance(recipe.optimizer, torch.optim.SGD)
    stats = recipe.train_epoch(FakeTask(), amlfs.SearchedSoftmaxLoss(6))
    assert stats.steps == 1 and stats.samples == 16
    trained = pack_state(recipe.model, recipe.optimizer, recipe.scheduler, epoch=1)  # packing 68M weights is slow: once
    momentum = recipe.optimizer.state[recipe.model.heads[0].weight]["momentum_buffer"].clone()
    recipe.initialize(3)
    assert not recipe.optimizer.state
    assert unpack_state(trained.data, recipe.model, recipe.optimizer, recipe.scheduler) == 1
    assert torch.equal(recipe.optimizer.state[recipe.model.heads[0].weight]["momentum_buffer"], momentum)
    assert recipe.scheduler.last_epoch == 1


def test_schedule_adam_and_pretrained(market_root, tmp_path):
    config = config_from_options(parse_options("mgn", {"recipe": "paper"}, OPTIONS, PRESETS), epochs=80)
    assert (config.p, config.k, config.resize_px, config.crop_px, config.test_px) == (
        16, 4, (384, 128), (384, 128), (384, 128))
    assert (config.warmup_epochs, config.milestones, config.weight_decay) == (0, (40, 60), 5e-4)
    assert [config.lr * lr_factor(e, config) for e in (0, 39, 40, 60, 79)] == pytest.approx(
        [1e-2, 1e-2, 1e-3, 1e-4, 1e-4])

    torch.manual_seed(3)
    source = ResNet50(num_classes=1000)
    path = tmp_path / "imagenet.pth"
    torch.save(source.state_dict(), path)
    recipe = build_recipe(experiment(market_root, optimizer="adam", lr=2e-4, pretrainedPath=str(path)),
                          torch.device("cpu"))
    assert isinstance(recipe.optimizer, torch.optim.Adam)
    model = recipe.model
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    for branch in model.branches:  # every branch starts from the ImageNet layer3[1:] and layer4
        assert torch.equal(branch[0][4].conv2.weight, source.layer3[5].conv2.weight)
        assert torch.equal(branch[1][0].downsample[0].weight, source.layer4[0].downsample[0].weight)
