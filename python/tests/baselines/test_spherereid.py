"""SphereReID: the sphere softmax branch, its recipe on a tiny Market-1501 fixture, ImageNet weights."""
import logging

import pytest
import torch
import torch.nn.functional as F

import amlfs
from amlfs.baselines import BaselineError, build_recipe
from amlfs.baselines.reid_recipe import lr_factor, random_crop
from amlfs.baselines.spherereid import OPTIONS, PRESETS, SphereReIDNet, config_from_options
from amlfs.baselines.options import parse_options
from amlfs.eval import evaluate_reid, pairwise_distance, rerank
from amlfs.fixtures.reid import write_reid_fixture

from amlfs.models import ResNet50

from .fakes import FakeTask

TINY = {"p": 2, "k": 2, "heightPx": 64, "widthPx": 32, "cropHeightPx": 56, "cropWidthPx": 28,
        "numWorkers": 0, "evalBatchSize": 32, "strict": False}


def experiment(root, kind="market1501", metric="mAP", **options):
    return {
        "name": "spherereid-smoke", "seed": 0,
        "baseline": {"name": "spherereid", "options": {**TINY, **options}},
        "dataset": {"kind": kind, "root": root, "splits": {"valFraction": 0.34, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 4},
        "reward": {"metric": metric},
    }


def test_searched_loss_at_identity_is_sphere_softmax():
    torch.manual_seed(0)
    model = SphereReIDNet(num_classes=5, embedding_dim=16)
    x, y = torch.randn(4, 3, 64, 32), torch.tensor([0, 3, 3, 1])
    cosine, scale = model.branch(x)
    assert scale == 14.0 and cosine.shape == (4, 5) and cosine.abs().max() <= 1 + 1e-6
    # the cosine of the normalized embedding and the normalized class weights, recomputed by hand
    model.eval()
    with torch.no_grad():
        embedding = model.bn2(model.fc(model.bn1(F.adaptive_avg_pool2d(model.backbone.features(x), 1).flatten(1))))
        w = model.classifier.weight
        expected = (embedding @ w.t()) / (embedding.norm(dim=1, keepdim=True) * w.norm(dim=1))
        assert torch.allclose(model.branch(x)[0], expected, atol=1e-5)
    model.train()

    params = [p for p in model.parameters() if p.requires_grad]
    searched = amlfs.SearchedSoftmaxLoss(6)(cosine, y, scale)
    reference = F.cross_entropy(14.0 * cosine, y)
    assert torch.allclose(searched, reference, atol=1e-6)
    grads = torch.autograd.grad(searched, params, retain_graph=True)
    ref_grads = torch.autograd.grad(reference, params)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-6 + 1e-5 * float(r.abs().max()), rtol=1e-4)
    assert model.classifier.bias is None


def test_split_sizes_and_the_reward_split(market_root):
    recipe = build_recipe(experiment(market_root), torch.device("cpu"))
    assert recipe.reward_metric == "mAP"
    assert recipe.dataset_sizes() == {"train": 16, "val": 8, "test": 12 + 26}  # 4 kept ids x 4; 2 held out
    assert recipe.evaluate("val")["rank10"] == 1.0  # every val query has a true match within 7 gallery items
    stats = recipe.train_epoch(FakeTask(), amlfs.SearchedSoftmaxLoss(6))
    assert stats.steps == 2 and stats.samples == 8  # an epoch is one pass over the 4 ids, P x K = 2 x 2
    paper = build_recipe(experiment(market_root, recipe="paper"), torch.device("cpu"))
    stats = paper.train_epoch(FakeTask(), amlfs.SearchedSoftmaxLoss(6))
    assert stats.steps == 4 and stats.samples == 16  # one pass over the 4 ids x 4 images


def test_test_split_adds_reranked_metrics(market_root):
    """Re-ranked metrics recomputed independently: ``rerank`` on caller-held full distance matrices
    (the recipe recomputes distance blocks from features), then the plain protocol."""
    recipe = build_recipe(experiment(market_root), torch.device("cpu"))
    recipe.train_epoch(FakeTask(), amlfs.SearchedSoftmaxLoss(6))
    metrics = recipe.evaluate("test")
    query, gallery = recipe.data.retrieval("test")
    q, g = recipe.extract(query), recipe.extract(gallery)
    ids = (list(query.pids), list(gallery.pids), list(query.camids), list(gallery.camids))
    plain = evaluate_reid(pairwise_distance(q, g, "euclidean"), *ids, max_rank=10)
    reranked = evaluate_reid(rerank(pairwise_distance(q, g, "euclidean"), pairwise_distance(q, q, "euclidean"),
                                    pairwise_distance(g, g, "euclidean"), k1=20, k2=6, lambda_value=0.3),
                             *ids, max_rank=10)
    assert metrics["mAP"] == pytest.approx(plain.mAP, abs=1e-6)
    assert metrics["mAP_rerank"] == pytest.approx(reranked.mAP, abs=1e-6)
    for k in (1, 5, 10):
        assert metrics[f"rank{k}"] == pytest.approx(plain.rank(k), abs=1e-6)
        assert metrics[f"rank{k}_rerank"] == pytest.approx(reranked.rank(k), abs=1e-6)

    # the reward split never re-ranks by default; either split can be asked explicitly
    assert "mAP_rerank" not in recipe.evaluate("val")
    assert "mAP_rerank" in recipe.evaluate("val", rerank=True)
    assert set(recipe.evaluate("test", rerank=False)) == {"mAP", "rank1", "rank5", "rank10"}
    recipe.config = type(recipe.config)(**{**recipe.config.__dict__, "rerank_test": False})
    assert "mAP_rerank" not in recipe.evaluate("test")


def test_flip_test_averages_mirrored_features(market_root):
    recipe = build_recipe(experiment(market_root, kind="market1501"), torch.device("cpu"))
    query = recipe.data.test_query
    flipped = recipe.extract(query)
    recipe.config = type(recipe.config)(**{**recipe.config.__dict__, "flip_test": False})
    plain = recipe.extract(query)
    assert not torch.allclose(plain, flipped)
    assert torch.allclose(plain.norm(dim=1), torch.ones(len(query)), atol=1e-5)
    # upstream (evaluate.py): the mean of the two unit embeddings, not re-normalized
    mirrored = recipe.model.features(normalize_images(recipe, query).flip(-1))
    assert torch.allclose(flipped, (plain + mirrored) / 2, atol=1e-6)
    paper = build_recipe(experiment(market_root, recipe="paper"), torch.device("cpu"))
    assert torch.allclose(paper.extract(query), F.normalize(plain + mirrored, dim=1), atol=1e-5)


def normalize_images(recipe, images):
    from amlfs.data.reid import ReidImageDataset, normalize
    dataset = ReidImageDataset(images, *recipe.config.test_px)
    recipe.model.eval()
    return normalize(torch.stack([dataset[i][0] for i in range(len(dataset))]))


def test_upstream_ranks_by_the_dot_product_as_evaluate_py():
    from amlfs.baselines.reid_recipe import ranking_distances
    torch.manual_seed(0)
    q, g = torch.randn(5, 8) / 4, torch.randn(7, 8) / 4
    coincheung = 1.0 / (q @ g.t() + 1)  # evaluate.py:100-101, argsort ascending
    assert torch.equal(ranking_distances(q, g, "dot").argsort(1), coincheung.argsort(1))
    assert torch.allclose(ranking_distances(q, g, "euclidean"), torch.cdist(q, g), atol=1e-6)
    with pytest.raises(BaselineError, match=r"`baseline.options.testDistance`: expected one of euclidean, dot"):
        ranking_distances(q, g, "cosine")


def test_ohem_keeps_the_hardest_share_of_each_batch(market_root):
    """The recipe's loss with ``ohemKeep: 0.75`` against a plain loop: per-sample losses sorted in
    descending order, the mean of the first int(0.75 N) (CoinCheung sphere_loss.py:20-31)."""
    from amlfs.baselines.reid_recipe import model_branches
    recipe = build_recipe(experiment(market_root, ohemKeep=0.75, p=4, k=2, dropout=0.0), torch.device("cpu"))
    loss_fn = amlfs.SearchedSoftmaxLoss(6)
    x, y = recipe.probe_batch(8)
    [(cosine, scale)] = [(c.detach(), s) for c, s in model_branches(recipe.model, x)]
    per_sample = [float(F.cross_entropy(scale * cosine[i:i + 1], y[i:i + 1])) for i in range(8)]
    hardest = sorted(per_sample, reverse=True)[:6]
    from amlfs.loss import hard_example_loss
    assert float(hard_example_loss(loss_fn, cosine, y, scale, 0.75)) == pytest.approx(sum(hardest) / 6, rel=1e-5)
    assert float(hard_example_loss(loss_fn, cosine, y, scale, 1.0)) == pytest.approx(sum(per_sample) / 8, rel=1e-5)
    with pytest.raises(BaselineError, match=r"`baseline.options.ohemKeep`: expected a number in \(0, 1\]"):
        build_recipe(experiment(market_root, ohemKeep=1.5), torch.device("cpu"))


def test_duke_layout_and_rank1_reward(tmp_path):
    root = tmp_path / "DukeMTMC-reID"
    write_reid_fixture(str(root), "duke", ids=5, per_id=4, height_px=64, width_px=32)
    recipe = build_recipe(experiment(str(tmp_path), kind="dukemtmc-reid", metric="rank1"), torch.device("cpu"))
    assert recipe.dataset_sizes()["train"] == 12
    assert 0 <= recipe.evaluate("val")["rank1"] <= 1


def test_options_and_data_errors(market_root, tmp_path):
    with pytest.raises(BaselineError, match=r"`baseline.options.learningRate`: unknown option"):
        build_recipe(experiment(market_root, learningRate=0.1), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.p`: expected a positive integer, got 0"):
        build_recipe(experiment(market_root, p=0), torch.device("cpu"))
    with pytest.raises(BaselineError, match=r"`baseline.options.p`: 9 identities per batch, but .* only 4"):
        build_recipe(experiment(market_root, p=9), torch.device("cpu"))
    with pytest.raises(amlfs.data.DataError, match="bounding_box_train holds 24 images, expected 12936"):
        build_recipe(experiment(market_root, strict=True), torch.device("cpu"))


def coincheung_lr(epoch: int) -> float:
    """CoinCheung/SphereReID@e02c7b9 train.py lr_scheduler, written out: the LR it has set for ``epoch``."""
    if epoch <= 20:
        return 1e-5 * ((1e-3 / 1e-5) ** (1.0 / 20)) ** epoch
    lr = 1e-3
    for i, step in enumerate([90, 130]):
        if epoch >= step:
            lr = 1e-3 * 0.1 ** (i + 1)
    return lr


def test_the_upstream_preset_is_coincheung_train_py():
    options = parse_options("spherereid", {}, OPTIONS, PRESETS)
    assert options["recipe"] == "upstream"
    config = config_from_options(options, epochs=150)
    assert (config.p, config.k, config.resize_px, config.crop_px, config.test_px) == (
        16, 4, (288, 144), (256, 128), (288, 144))
    assert (config.optimizer, config.lr, config.betas, config.weight_decay) == ("adam", 1e-3, (0.9, 0.999), 0.0)
    assert (config.erasing_p, config.erasing_fill, config.ohem_keep, config.epoch_batches) == (
        0.5, "normalizedZero", 0.8, "identities")
    assert (config.flip_test, config.test_distance) == (True, "dot")
    for epoch in (0, 1, 10, 19, 20, 21, 89, 90, 129, 130, 149):
        assert config.lr * lr_factor(epoch, config) == pytest.approx(coincheung_lr(epoch), rel=1e-12), epoch
    # the same, written as literals: 1e-5 * 100 ** (e / 20) through epoch 20, then 1e-3, 1e-4 at 90, 1e-5 at 130
    expected = {0: 1e-5, 10: 1e-4, 20: 1e-3, 21: 1e-3, 89: 1e-3, 90: 1e-4, 129: 1e-4, 130: 1e-5}
    for epoch, lr in expected.items():
        assert config.lr * lr_factor(epoch, config) == pytest.approx(lr, rel=1e-12), epoch


def test_schedule_follows_the_paper():
    config = config_from_options(parse_options("spherereid", {"recipe": "paper"}, OPTIONS, PRESETS), epochs=140)
    assert (config.p, config.k, config.resize_px, config.crop_px, config.test_px) == (
        16, 4, (288, 144), (256, 128), (288, 144))
    assert (config.warmup_epochs, config.milestones, config.betas) == (20, (80, 100), (0.9, 0.99))
    lrs = {e: config.lr * lr_factor(e, config) for e in (0, 10, 19, 20, 79, 80, 99, 100, 139)}
    assert lrs[0] == pytest.approx(5e-5) and lrs[10] == pytest.approx(5e-5 + (1e-3 - 5e-5) / 2)
    assert lrs[20] == lrs[79] == pytest.approx(1e-3)
    assert lrs[80] == lrs[99] == pytest.approx(1e-4) and lrs[100] == lrs[139] == pytest.approx(1e-5)
    assert (config.erasing_p, config.ohem_keep, config.epoch_batches) == (0.0, 1.0, "images")
    short = config_from_options(parse_options("spherereid", {"recipe": "paper"}, OPTIONS, PRESETS), epochs=70)
    assert (short.warmup_epochs, short.milestones) == (10, (40, 50))


def test_random_crop_draws():
    images = torch.arange(2 * 1 * 4 * 3).reshape(2, 1, 4, 3)
    out = random_crop(images, 2, 2, torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    dy, dx = torch.randint(0, 3, (2,), generator=g), torch.randint(0, 2, (2,), generator=g)
    for i in range(2):
        assert torch.equal(out[i], images[i, :, dy[i]:dy[i] + 2, dx[i]:dx[i] + 2])


def test_pretrained_backbone(market_root, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="amlfs.baselines.spherereid"):
        build_recipe(experiment(market_root), torch.device("cpu"))
    assert "trains from scratch" in caplog.text

    torch.manual_seed(3)
    source = ResNet50(num_classes=1000)
    path = tmp_path / "imagenet.pth"
    torch.save(source.state_dict(), path)
    recipe = build_recipe(experiment(market_root, pretrainedPath=str(path)), torch.device("cpu"))
    assert torch.equal(recipe.model.backbone.layer3[5].conv2.weight, source.layer3[5].conv2.weight)
    recipe.initialize(7)  # re-initialization keeps the ImageNet backbone
    assert torch.equal(recipe.model.backbone.conv1.weight, source.conv1.weight)

    state = source.state_dict()
    del state["layer3.5.conv2.weight"]
    torch.save(state, path)
    with pytest.raises(BaselineError, match=r"`baseline.options.pretrainedPath`: .*missing 1 keys \[layer3\.5\.conv2"):
        build_recipe(experiment(market_root, pretrainedPath=str(path)), torch.device("cpu"))


def test_the_upstream_head_is_initialized_as_coincheungs():
    """backbone.py:41-42 kaiming_normal_(fc.weight, a=1): std 1 / sqrt(2048); sphere_loss.py:18 xavier_normal_(W):
    std sqrt(2 / (1024 + C))."""
    torch.manual_seed(0)
    net = SphereReIDNet(num_classes=751, head_init="coincheung")
    assert float(net.fc.weight.detach().std()) == pytest.approx(1 / 2048 ** 0.5, rel=0.01)
    assert float(net.fc.bias.detach().abs().max()) == 0.0
    assert float(net.classifier.weight.detach().std()) == pytest.approx((2 / (1024 + 751)) ** 0.5, rel=0.01)
    ours = SphereReIDNet(num_classes=751)
    assert float(ours.classifier.weight.detach().std()) == pytest.approx(0.01, rel=0.01)
    assert parse_options("spherereid", {}, OPTIONS, PRESETS)["headInit"] == "coincheung"
    assert parse_options("spherereid", {"recipe": "paper"}, OPTIONS, PRESETS)["headInit"] == "ours"
