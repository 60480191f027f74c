"""SFT: the SFT layer, the AM-softmax branch at cosineMargin(0.3), its SGD recipe on a tiny Market-1501 fixture."""
import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import BaselineError, build_recipe
from amlfs.baselines.options import parse_options
from amlfs.baselines.reid_recipe import lr_factor
from amlfs.baselines.sft import OPTIONS, SftNet, config_from_options, spectral_feature_transform

from amlfs.loss import SearchSpace

from .fakes import FakeTask

TINY = {"p": 2, "k": 4, "heightPx": 64, "widthPx": 32, "cropHeightPx": 56, "cropWidthPx": 28, "paddingPx": 2,
        "embeddingDim": 16, "numWorkers": 0, "evalBatchSize": 32, "strict": False}


def experiment(root, kind="market1501", **options):
    return {
        "name": "sft-smoke", "seed": 0,
        "baseline": {"name": "sft", "options": {**TINY, **options}},
        "dataset": {"kind": kind, "root": root, "splits": {"valFraction": 0.34, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 4},
        "reward": {"metric": "mAP"},
    }


def test_spectral_feature_transform_by_hand():
    torch.manual_seed(0)
    x = F.normalize(torch.randn(5, 3, dtype=torch.float64), dim=1)
    out = spectral_feature_transform(x, 0.1)
    for i in range(5):
        weights = [torch.exp(x[i] @ x[j] / 0.1) for j in range(5)]
        expected = sum(w * x[j] for j, w in enumerate(weights)) / sum(weights)
        assert torch.allclose(out[i], expected, atol=1e-12)


def test_searched_loss_at_cosine_margin_is_am_softmax():
    torch.manual_seed(0)
    model = SftNet(num_classes=5, embedding_dim=16)
    x, y = torch.randn(4, 3, 64, 32), torch.tensor([0, 3, 3, 1])
    cosine, scale = model.branch(x)
    assert scale == 15.0 and cosine.shape == (4, 5) and cosine.abs().max() <= 1 + 1e-6
    with torch.no_grad():  # the SFT layer and the cosine recomputed by hand (training mode: the layer is on)
        pooled = F.adaptive_avg_pool2d(model.backbone.features(x), 1).flatten(1)
        embedding = F.normalize(model.prelu(model.bn(model.fc(pooled))), dim=1)
        affinity = torch.softmax(embedding @ embedding.t() / 0.1, dim=1)
        mixed = affinity @ embedding
        w = model.classifier.weight
        expected = (mixed @ w.t()) / (mixed.norm(dim=1, keepdim=True) * w.norm(dim=1))
        assert torch.allclose(cosine, expected, atol=1e-5)

    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    loss_fn.set_theta(SearchSpace(6).cosine_margin(0.3))
    searched = loss_fn(cosine, y, scale)
    reference = F.cross_entropy(15.0 * (cosine - 0.3 * F.one_hot(y, 5)), y)
    assert torch.allclose(searched, reference, atol=1e-6)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(searched, params, retain_graph=True)
    for g, r in zip(grads, torch.autograd.grad(reference, params)):
        assert torch.allclose(g, r, atol=1e-6 + 1e-5 * float(r.abs().max()), rtol=1e-4)

    model.eval()  # evaluation: no SFT layer, so a sample's feature does not depend on the batch
    with torch.no_grad():
        assert torch.allclose(model.features(x)[:2], model.features(x[:2]), atol=1e-5)
        assert torch.allclose(model.branch(x)[0][:2], model.branch(x[:2])[0], atol=1e-5)


def test_recipe_uses_sgd_with_warmup(market_root):
    recipe = build_recipe(experiment(market_root), torch.device("cpu"))
    assert isinstance(recipe.optimizer, torch.optim.SGD)
    group = recipe.optimizer.param_groups[0]
    assert (group["momentum"], group["weight_decay"]) == (0.9, 5e-4)
    assert group["lr"] == pytest.approx(0.1 * lr_factor(0, recipe.config))
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    loss_fn.set_theta(SearchSpace(6).cosine_margin(0.3))
    stats = recipe.train_epoch(FakeTask(), loss_fn)
    assert stats.steps == 2 and stats.samples == 16 and recipe.optimizer.state
    assert group["lr"] == pytest.approx(0.1 * lr_factor(1, recipe.config))
    recipe.initialize(5)  # resets SGD (momentum buffers, lr) and the warmup schedule
    assert recipe.scheduler.last_epoch == 0 and not recipe.optimizer.state
    assert group["lr"] == pytest.approx(0.1 * lr_factor(0, recipe.config))
    adam = build_recipe(experiment(market_root, optimizer="adam", lr=3e-4), torch.device("cpu"))
    assert isinstance(adam.optimizer, torch.optim.Adam) and adam.optimizer.param_groups[0]["weight_decay"] == 5e-4


def test_schedule_and_option_errors(market_root):
    config = config_from_options(parse_options("sft", {}, OPTIONS), epochs=100)
    assert (config.p, config.k, config.resize_px, config.crop_px, config.padding_px) == (
        16, 8, (256, 128), (256, 128), 10)
    assert (config.warmup_epochs, config.milestones, config.weight_decay) == (10, (40, 70), 5e-4)
    lrs = {e: config.lr * lr_factor(e, config) for e in (0, 5, 10, 39, 40, 70, 99)}
    assert lrs[0] == pytest.approx(0.01) and lrs[5] == pytest.approx(0.055)
    assert lrs[10] == lrs[39] == pytest.approx(0.1)
    assert lrs[40] == pytest.approx(0.01) and lrs[70] == lrs[99] == pytest.approx(1e-3)
    short = config_from_options(parse_options("sft", {}, OPTIONS), epochs=50)
    assert (short.warmup_epochs, short.milestones) == (5, (20, 35))
    with pytest.raises(BaselineError, match=r"`baseline.options.lastStride`: expected one of 1, 2, got 3"):
        build_recipe(experiment(market_root, lastStride=3), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.testHeightPx`"):
        build_recipe(experiment(market_root, testHeightPx=64), torch.device("cpu"))
