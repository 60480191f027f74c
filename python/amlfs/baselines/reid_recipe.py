"""Person re-ID trained as identity classification with the searched loss; rewards are retrieval metrics.

Shared by the re-ID baselines. The model provides:

- ``branch(x) -> (cosine [N, C], scale)``: the softmax branch the searched loss replaces, or
  ``supervised_branches(x) -> [(cosine, scale), ...]`` when several branches share the batch's labels (SFT's
  deep supervision); the loss is the sum of the branches' losses;
- ``features(x) -> [N, D]``: the evaluation embedding (L2-normalized, or raw for ``"dot"``).

Training: P x K identity batches (:class:`~amlfs.data.reid.PKSampler`; an epoch is one pass
over the images or, as the upstream codebases, over the identities: ``epoch_batches``), images
resized to ``resize_px`` then flipped and randomly cropped to ``crop_px`` (optionally padded and
erased), Adam or SGD (``optimizer``), the loss averaged over the batch or over its hardest
``ohem_keep`` share (:func:`amlfs.loss.hard_example_loss`), and a per-epoch learning-rate factor:
a linear or exponential warmup, then step decay.
Evaluation: Euclidean distances between features (flip-averaged and re-normalized when
``flip_test``), or with ``test_distance="dot"`` the negative dot product of the flip-averaged
features as they are (CoinCheung/SphereReID ``evaluate.py``), CMC and non-interpolated mAP under the standard protocol
(:func:`amlfs.eval.evaluate_reid`); ``"val"`` is the retrieval problem built from held-out
training identities (the reward), ``"test"`` the official query/gallery.

Re-ranking: the test split (the final evaluation, run once) also reports the metrics after
k-reciprocal re-ranking (:func:`amlfs.eval.rerank_features`, k1 = 20, k2 = 6, lambda = 0.3) under
``<metric>_rerank`` keys, as the paper's Tables 4/5. The validation reward never re-ranks: it is
computed for every sample of every epoch, and re-ranking costs far more than the plain ranking
(neighbour sets over all query and gallery items), so it would dominate the search's evaluation time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ..data.reid import (PKSampler, ReidImageDataset, ReidImages, erasing_fill, normalize, pad_random_crop,
                         random_erasing, random_hflip)
from ..data.reid_registry import ReidData
from ..eval import evaluate_reid, pairwise_distance, rerank_features
from ..loss import hard_example_loss
from .errors import BaselineError
from .recipe import EpochLoop, EpochStats, Recipe, SoftmaxBranch, TrainingStart, seed_global_rng

ModelFactory = Callable[[int], nn.Module]  # num_classes -> model with branch() and features()
REID_METRICS = ("mAP", "rank1", "rank5", "rank10")
RERANK_SUFFIX = "_rerank"


@dataclass(frozen=True)
class ReidConfig:
    """A re-ID training recipe. Sizes in pixels ``(height, width)``: training images are resized to
    ``resize_px`` and cropped to ``crop_px``, test images resized to ``test_px``. The LR schedule
    is in epochs of this run (see :func:`lr_factor`). ``optimizer`` is ``"adam"`` (with ``betas``)
    or ``"sgd"`` (with ``momentum``); both take ``lr`` and ``weight_decay``."""

    epochs: int
    p: int
    k: int
    resize_px: Tuple[int, int]
    crop_px: Tuple[int, int]
    test_px: Tuple[int, int]
    lr: float
    optimizer: str = "adam"
    betas: Tuple[float, float] = (0.9, 0.999)
    amsgrad: bool = False
    momentum: float = 0.9
    weight_decay: float = 0.0
    warmup_epochs: int = 0
    warmup_start_factor: float = 1.0
    milestones: Tuple[int, ...] = ()
    gamma: float = 0.1
    flip_p: float = 0.5
    padding_px: int = 0
    erasing_p: float = 0.0
    flip_test: bool = True
    eval_batch_size: int = 128
    num_workers: int = 0
    rerank_test: bool = True
    warmup_form: str = "linear"
    epoch_batches: str = "images"
    ohem_keep: float = 1.0
    erasing_fill: str = "random"
    test_distance: str = "euclidean"


WARMUP_FORMS = ("linear", "exponential")
TEST_DISTANCES = ("euclidean", "dot")


def lr_factor(epoch: int, config: ReidConfig) -> float:
    """Multiplier of ``config.lr`` during ``epoch`` (0-based).

    Warmup from ``warmup_start_factor`` at epoch 0 towards 1 over ``warmup_epochs``: linear, or
    (``warmup_form == "exponential"``, CoinCheung/SphereReID ``train.py`` ``lr_scheduler``)
    geometric, ``start ** (1 - epoch / warmup_epochs)``; then ``gamma ** (number of milestones <= epoch)``.
    """
    if epoch < config.warmup_epochs:
        start = config.warmup_start_factor
        if config.warmup_form == "exponential":
            return start ** (1.0 - epoch / config.warmup_epochs)
        return start + (1.0 - start) * epoch / config.warmup_epochs
    return config.gamma ** sum(1 for m in config.milestones if epoch >= m)


def random_crop(images: torch.Tensor, height_px: int, width_px: int, generator: torch.Generator) -> torch.Tensor:
    """A ``height_px`` x ``width_px`` window of each image of ``[N, C, H, W]`` at a random offset.

    Draws: ``N`` row offsets in ``[0, H - height_px]``, then ``N`` column offsets in ``[0, W - width_px]``.
    """
    n, _, h, w = images.shape
    if height_px > h or width_px > w:
        raise BaselineError(f"random_crop: a {height_px}x{width_px} crop does not fit a {h}x{w} image")
    dy = torch.randint(0, h - height_px + 1, (n,), generator=generator).tolist()
    dx = torch.randint(0, w - width_px + 1, (n,), generator=generator).tolist()
    return torch.stack([images[i, :, y:y + height_px, x:x + width_px] for i, (y, x) in enumerate(zip(dy, dx))])


def make_optimizer(parameters, config: ReidConfig) -> torch.optim.Optimizer:
    """Adam or SGD over ``parameters`` as ``config.optimizer`` says."""
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay,
                                amsgrad=config.amsgrad)
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    raise BaselineError(f"`baseline.options.optimizer`: expected \"adam\" or \"sgd\", got {config.optimizer!r}")


class ReidRecipe(Recipe):
    reward_metric = "mAP"
    reward_metrics = ("mAP", "rank1")

    def __init__(self, data: ReidData, make_model: ModelFactory, config: ReidConfig, device: torch.device, seed: int):
        self.data = data
        self.config = config
        self.device = torch.device(device)
        if config.p > data.train.num_classes:
            raise BaselineError(f"`baseline.options.p`: {config.p} identities per batch, but the training split "
                                f"has only {data.train.num_classes}")
        for name, crop, size in (("height", config.crop_px[0], config.resize_px[0]),
                                 ("width", config.crop_px[1], config.resize_px[1])):
            if crop > size:
                raise BaselineError(f"`baseline.options`: the crop {name} {crop} exceeds the resized {name} {size}")
        self._make_model = lambda: make_model(data.train.num_classes)
        torch.manual_seed(seed)
        self.model = self._make_model().to(self.device)
        for name in ("branch", "features"):
            if not hasattr(self.model, name):
                raise BaselineError(f"model {type(self.model).__name__} has no `{name}` (see amlfs.baselines.reid_recipe)")
        self.optimizer = make_optimizer(self.model.parameters(), config)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda epoch: lr_factor(epoch, config))
        self._start = TrainingStart.of(self.optimizer, self.scheduler)

    def dataset_sizes(self) -> Dict[str, int]:
        return self.data.sizes()

    def initialize(self, seed: int) -> None:
        self._start.restore(seed, self.model, self._make_model, self.optimizer, self.scheduler)

    def augment(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Resized uint8 ``[N, 3, H, W]`` to the training batch: flip, crop, pad-crop, normalize, erasing."""
        x = random_hflip(images, generator, self.config.flip_p)
        x = random_crop(x, self.config.crop_px[0], self.config.crop_px[1], generator)
        if self.config.padding_px > 0:
            x = pad_random_crop(x, self.config.padding_px, generator)
        x = normalize(x)
        if self.config.erasing_p > 0:
            x = random_erasing(x, generator, self.config.erasing_p, fill=erasing_fill(self.config.erasing_fill))
        return x

    def train_epoch(self, task, loss_fn: nn.Module) -> EpochStats:
        generator = task.generator()
        seed_global_rng(generator)
        # augmentation draws from its own stream, so prefetching loader workers cannot reorder draws
        augment_generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (), generator=generator)))
        train = self.data.train
        sampler = PKSampler(train.labels, self.config.p, self.config.k, generator=generator,
                            epoch=self.config.epoch_batches)
        loader = DataLoader(ReidImageDataset(train.images, *self.config.resize_px, labels=train.labels),
                            batch_sampler=sampler, num_workers=self.config.num_workers)
        self.model.train()
        loop = EpochLoop(task, self.optimizer, len(sampler))
        for images, labels, _ in loader:
            x = self.augment(images, augment_generator).to(self.device)
            x, y = loop.shard(x, labels.to(self.device))
            loss = sum(hard_example_loss(loss_fn, cosine, y, scale, self.config.ohem_keep)
                       for cosine, scale in model_branches(self.model, x))
            loop.step(loss, y.shape[0])
        self.scheduler.step()
        return loop.stats()

    def probe_batch(self, count: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """The first ``count`` training images (resized to the crop size, normalized) and their labels."""
        train = self.data.train
        dataset = ReidImageDataset(train.images, *self.config.crop_px, labels=train.labels)
        items = [dataset[i] for i in range(min(count, len(dataset)))]
        x = normalize(torch.stack([pixels for pixels, _, _ in items])).to(self.device)
        return x, torch.tensor([label for _, label, _ in items], device=self.device)

    def softmax_branches(self, count: int) -> List[SoftmaxBranch]:
        x, y = self.probe_batch(count)
        self.model.train()
        return [SoftmaxBranch(cosine, scale, y) for cosine, scale in model_branches(self.model, x)]

    @torch.no_grad()
    def extract(self, images: ReidImages) -> torch.Tensor:
        """Evaluation features ``[N, D]`` of ``images``: with ``flip_test`` the mean of the image's and its
        mirror's, re-normalized for the ``"euclidean"`` distance, as it is for ``"dot"``."""
        self.model.eval()
        loader = DataLoader(ReidImageDataset(images, *self.config.test_px),
                            batch_size=self.config.eval_batch_size, num_workers=self.config.num_workers)
        parts = []
        for pixels, _, _ in loader:
            x = normalize(pixels).to(self.device)
            features = self.model.features(x)
            if self.config.flip_test:
                features = (features + self.model.features(x.flip(-1))) / 2
                if self.config.test_distance == "euclidean":
                    features = F.normalize(features, dim=1)
            parts.append(features)
        return torch.cat(parts)

    def evaluate(self, split: str, rerank: Optional[bool] = None) -> Dict[str, float]:
        """``mAP``, ``rank1``, ``rank5``, ``rank10`` of ``split`` (``"val"`` or ``"test"``); with ``rerank``
        (default: ``config.rerank_test`` for ``"test"``, never for ``"val"``) also the same metrics after
        k-reciprocal re-ranking, keyed ``<metric>_rerank``."""
        if split not in ("val", "test"):
            raise BaselineError(f"Expected a split val or test, got {split!r}")
        if rerank is None:
            rerank = split == "test" and self.config.rerank_test
        query, gallery = self.data.retrieval(split)
        query_features, gallery_features = self.extract(query), self.extract(gallery)
        ids = (list(query.pids), list(gallery.pids), list(query.camids), list(gallery.camids))
        metrics = reid_metrics(ranking_distances(query_features, gallery_features, self.config.test_distance), ids)
        if rerank:
            reranked = rerank_features(query_features, gallery_features, "euclidean", k1=20, k2=6, lambda_value=0.3)
            metrics.update({name + RERANK_SUFFIX: value for name, value in reid_metrics(reranked, ids).items()})
        return metrics


def model_branches(model: nn.Module, x: torch.Tensor) -> List[Tuple[torch.Tensor, object]]:
    """The softmax branches ``[(cosine, scale), ...]`` of ``model`` on ``x``: ``supervised_branches(x)``
    or ``[branch(x)]``."""
    if hasattr(model, "supervised_branches"):
        return list(model.supervised_branches(x))
    return [model.branch(x)]


def ranking_distances(query: torch.Tensor, gallery: torch.Tensor, distance: str) -> torch.Tensor:
    """``[Q, G]`` distances to rank by: Euclidean, or ``"dot"``: ``-q . g`` (CoinCheung/SphereReID
    ``evaluate.py`` ranks by ``1 / (q . g + 1)``, the same order wherever ``q . g > -1``)."""
    if distance == "euclidean":
        return pairwise_distance(query, gallery, "euclidean")
    if distance == "dot":
        return -(query @ gallery.t())
    raise BaselineError(f"`baseline.options.testDistance`: expected one of {', '.join(TEST_DISTANCES)}, "
                        f"got {distance!r}")


def reid_metrics(distances: torch.Tensor, ids) -> Dict[str, float]:
    """:data:`REID_METRICS` of ``distances [Q, G]``; ``ids`` = (query pids, gallery pids, query camids, gallery camids)."""
    result = evaluate_reid(distances, *ids, max_rank=10)
    return {"mAP": float(result.mAP), "rank1": result.rank1, "rank5": result.rank5, "rank10": result.rank10}
