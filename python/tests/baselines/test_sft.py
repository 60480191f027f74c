"""SFT: the SFT layer, the AM-softmax branches at cosineMargin(0.3) (deep supervision as LuckyDC/sft-reid),
the upstream and paper presets, the SGD recipe on a tiny Market-1501 fixture."""
import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import BaselineError, build_recipe
from amlfs.baselines.options import parse_options
from amlfs.baselines.reid_recipe import lr_factor
from amlfs.baselines.sft import OPTIONS, PRESETS, SftNet, config_from_options, spectral_feature_transform

from amlfs.loss import SearchSpace

from .fakes import FakeTask

TINY = {"p": 2, "k": 4, "heightPx": 64, "widthPx": 32, "cropHeightPx": 56, "cropWidthPx": 28, "paddingPx": 2,
        "embeddingDim": 16, "numWorkers": 0, "evalBatchSize": 32, "strict": False}
PAPER_MODEL = {"sft_input": "embedding", "deep_supervision": False, "test_feature": "embedding"}


def experiment(root, kind="market1501", **options):
    return {
        "name": "sft-smoke", "seed": 0,
        "baseline": {"name": "sft", "options": {**TINY, **options}},
        "dataset": {"kind": kind, "root": root, "splits": {"valFraction": 0.34, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 4},
        "reward": {"metric": "mAP"},
    }


def test_spectral_feature_transform_by_hand():
    """LuckyDC/sft-reid's SFT block: the affinity from the L2-normalized rows, applied to the rows as given."""
    torch.manual_seed(0)
    x = 3 * torch.rand(5, 3, dtype=torch.float64)
    out = spectral_feature_transform(x, 0.1)
    for i in range(5):
        n = [x[j] / x[j].norm() for j in range(5)]
        weights = [torch.exp(n[i] @ n[j] / 0.1) for j in range(5)]
        expected = sum(w * x[j] for j, w in enumerate(weights)) / sum(weights)
        assert torch.allclose(out[i], expected, atol=1e-12)


def test_upstream_model_supervises_the_pooled_and_the_transformed_features():
    """Deep supervision as classification_branch: FC - BN - PReLU - L2 over the 2N rows [f; SFT(f)] (one
    set of BN statistics), one cosine classifier; test features the unit pooled features."""
    torch.manual_seed(0)
    model = SftNet(num_classes=5, embedding_dim=16)
    x = torch.randn(4, 3, 64, 32)
    branches = model.supervised_branches(x)
    assert len(branches) == 2 and all(scale == 15.0 and c.shape == (4, 5) for c, scale in branches)
    with torch.no_grad():
        f = F.adaptive_avg_pool2d(model.backbone.features(x), 1).flatten(1)
        n = F.normalize(f, dim=1)
        rows = torch.cat([f, torch.softmax(n @ n.t() / 0.1, dim=1) @ f])
        h = model.fc(rows)
        h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5)  # BN in training mode, gamma 1, beta 0
        h = F.normalize(F.prelu(h, model.prelu.weight), dim=1)
        w = F.normalize(model.classifier.weight, dim=1)
        assert torch.allclose(branches[0][0], h[:4] @ w.t(), atol=1e-5)
        assert torch.allclose(branches[1][0], h[4:] @ w.t(), atol=1e-5)
    assert model.fc.bias is None and model.fc.in_features == 2048
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model.features(x), F.normalize(global_pooled(model, x), dim=1), atol=1e-6)
    single = SftNet(num_classes=5, embedding_dim=16, deep_supervision=False)
    assert len(single.supervised_branches(x)) == 1
    with pytest.raises(ValueError, match="SftNet: expected sft_input"):
        SftNet(num_classes=5, sft_input="logits")


def global_pooled(model, x):
    return F.adaptive_avg_pool2d(model.backbone.features(x), 1).flatten(1)


def test_the_loss_of_the_upstream_recipe_sums_the_branches(market_root):
    """MXNet SoftmaxOutput over the 2N rows with rescale_grad = 1 / N: the two branch means add up."""
    recipe = build_recipe(experiment(market_root), torch.device("cpu"))
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    loss_fn.set_theta(SearchSpace(6).cosine_margin(0.3))
    x, y = recipe.probe_batch(8)
    branches = recipe.softmax_branches(8)
    assert len(branches) == 2
    from unittest import mock
    from amlfs.baselines import reid_recipe
    recipe.model.train()
    with torch.no_grad():
        expected = sum(F.cross_entropy(15.0 * (c - 0.3 * F.one_hot(y, c.shape[1])), y)
                       for c, _ in recipe.model.supervised_branches(x))
    with mock.patch.object(reid_recipe, "DataLoader", lambda *args, **kwargs: [(x, y, torch.zeros(8))]), \
            mock.patch.object(recipe, "augment", lambda images, generator: images):
        task = FakeTask()
        recipe.train_epoch(task, loss_fn)
    assert task.steps[0][2] == pytest.approx(float(expected), rel=1e-5)


def test_searched_loss_at_cosine_margin_is_am_softmax():
    torch.manual_seed(0)
    model = SftNet(num_classes=5, embedding_dim=16, **PAPER_MODEL)
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


def test_the_upstream_preset_is_luckydc_sft_reid():
    """LuckyDC/sft-reid@8ed21cc config.yml, train.py, utils/iterators.py, utils/extract.py (audited values)."""
    options = parse_options("sft", {}, OPTIONS, PRESETS)
    assert options["recipe"] == "upstream"
    assert (options["sftInput"], options["deepSupervision"], options["testFeature"]) == ("pooled", True, "pooled")
    assert (options["scale"], options["temperature"], options["embeddingDim"]) == (15.0, 0.1, 512)
    config = config_from_options(options, epochs=140)
    assert (config.p, config.k, config.resize_px, config.crop_px, config.test_px, config.padding_px) == (
        16, 8, (256, 128), (256, 128), (256, 128), 0)
    assert (config.erasing_p, config.erasing_fill, config.epoch_batches, config.flip_test) == (
        0.5, "pixel127", "identities", False)
    assert (config.optimizer, config.lr, config.momentum, config.weight_decay) == ("sgd", 0.1, 0.9, 5e-4)
    assert (config.warmup_epochs, config.milestones, config.warmup_form) == (20, (80, 100), "linear")
    # warmup_lr = lr / 100, linear over 20 epochs; times 0.1 at 80 and 100 of 140
    expected = {0: 1e-3, 10: 0.0505, 20: 0.1, 79: 0.1, 80: 0.01, 99: 0.01, 100: 1e-3, 139: 1e-3}
    for epoch, lr in expected.items():
        assert config.lr * lr_factor(epoch, config) == pytest.approx(lr, rel=1e-12), epoch


def test_schedule_and_option_errors(market_root):
    config = config_from_options(parse_options("sft", {"recipe": "paper"}, OPTIONS, PRESETS), epochs=100)
    assert (config.p, config.k, config.resize_px, config.crop_px, config.padding_px) == (
        16, 8, (256, 128), (256, 128), 10)
    assert (config.warmup_epochs, config.milestones, config.weight_decay) == (10, (40, 70), 5e-4)
    assert (config.erasing_p, config.epoch_batches, config.flip_test) == (0.0, "images", True)
    lrs = {e: config.lr * lr_factor(e, config) for e in (0, 5, 10, 39, 40, 70, 99)}
    assert lrs[0] == pytest.approx(0.01) and lrs[5] == pytest.approx(0.055)
    assert lrs[10] == lrs[39] == pytest.approx(0.1)
    assert lrs[40] == pytest.approx(0.01) and lrs[70] == lrs[99] == pytest.approx(1e-3)
    short = config_from_options(parse_options("sft", {"recipe": "paper"}, OPTIONS, PRESETS), epochs=50)
    assert (short.warmup_epochs, short.milestones) == (5, (20, 35))
    paper = build_recipe(experiment(market_root, recipe="paper"), torch.device("cpu"))
    assert (paper.model.sft_input, paper.model.deep_supervision, paper.model.test_feature) == (
        "embedding", False, "embedding")
    assert len(paper.softmax_branches(8)) == 1
    with pytest.raises(BaselineError, match=r"`baseline.options.lastStride`: expected one of 1, 2, got 3"):
        build_recipe(experiment(market_root, lastStride=3), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.testHeightPx`"):
        build_recipe(experiment(market_root, testHeightPx=64), torch.device("cpu"))
