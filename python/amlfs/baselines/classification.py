"""Image classification trained with SGD, the searched loss on the model's softmax branch.

Shared by ``small-cnn``, ``resnet20`` and ``cosine-mlp``. The model is either

- a plain linear head: ``features(x) -> [N, D]`` and ``classifier = nn.Linear(D, C, bias=False)``;
  the loss sees ``cosine_and_scale(features, classifier.weight)``, so the identity ``theta``
  is exactly softmax cross-entropy on ``classifier(features)``; or
- a normalized head: ``branch(x) -> (cosine [N, C], scale)`` with a fixed scale ``s``
  (CosFace-like), and ``forward(x) = s * cosine``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from ..data import ClassificationData
from ..data.rng import round_half_up
from ..data.transforms import normalize, random_crop_flip
from ..eval import ClassificationMetrics
from ..loss.linear_head import cosine_and_scale
from .errors import BaselineError
from .recipe import EpochLoop, EpochStats, Recipe, SoftmaxBranch, TrainingStart, seed_global_rng

ModelFactory = Callable[[int, int], nn.Module]  # (in_channels, num_classes) -> model


def softmax_branch(model: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, Any]:
    """``(cosine [N, C], scale)`` of the model on inputs ``x``: ``model.branch(x)`` for a normalized
    head (scale a number), else its linear head through ``cosine_and_scale`` (scale ``[N, C]``)."""
    if hasattr(model, "branch"):
        return model.branch(x)
    return cosine_and_scale(model.features(x), model.classifier.weight)


@dataclass(frozen=True)
class SgdConfig:
    """SGD recipe. ``schedule``: ``"step"`` (times ``gamma`` at each milestone, fractions of
    ``epochs``), ``"cosine"`` (to 0 over ``epochs``) or ``"none"``; stepped once per epoch."""

    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    schedule: str = "step"
    milestones: Tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.1
    crop_padding: int = 0
    flip: bool = False
    eval_batch_size: int = 1000


def sgd_config(options: Mapping[str, Any], epochs: int, **recipe: Any) -> SgdConfig:
    """The :class:`SgdConfig` of a baseline's parsed options (batchSize, lr, momentum, weightDecay,
    schedule, milestones, evalBatchSize); ``recipe`` sets or overrides the other fields."""
    fields = dict(
        epochs=epochs,
        batch_size=options["batchSize"],
        lr=float(options["lr"]),
        momentum=float(options["momentum"]),
        weight_decay=float(options["weightDecay"]),
        schedule=options.get("schedule", "step"),
        milestones=tuple(options["milestones"]),
        eval_batch_size=options["evalBatchSize"],
    )
    fields.update(recipe)
    return SgdConfig(**fields)


def milestone_epochs(fractions: Sequence[float], epochs: int) -> list:
    """Epochs at which a step schedule decays: ``max(1, round_half_up(f * epochs))``."""
    return [max(1, round_half_up(f * epochs)) for f in fractions]


class ClassificationRecipe(Recipe):
    reward_metric = "top1"
    reward_metrics = ("top1",)

    def __init__(self, data: ClassificationData, make_model: ModelFactory, config: SgdConfig,
                 device: torch.device, seed: int):
        self.data = data
        self.config = config
        self.device = torch.device(device)
        in_channels = int(data.train.images.shape[1])
        self._make_model = lambda: make_model(in_channels, data.num_classes)
        torch.manual_seed(seed)
        self.model = self._make_model().to(self.device)
        if not hasattr(self.model, "branch"):
            for name in ("features", "classifier"):
                if not hasattr(self.model, name):
                    raise BaselineError(f"model {type(self.model).__name__} has neither `branch` nor `{name}` "
                                        "(see amlfs.baselines.classification)")
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.scheduler = self._make_scheduler()
        self._start = TrainingStart.of(self.optimizer, self.scheduler)
        self._splits = {
            name: (part.images.to(self.device), part.labels.to(self.device))
            for name, part in (("train", data.train), ("val", data.val), ("test", data.test))
        }

    def _make_scheduler(self):
        config = self.config
        if config.schedule == "step":
            return torch.optim.lr_scheduler.MultiStepLR(
                self.optimizer, milestones=milestone_epochs(config.milestones, config.epochs), gamma=config.gamma)
        if config.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=config.epochs)
        if config.schedule == "none":
            return None
        raise BaselineError(f"`baseline.options.schedule`: expected step, cosine or none, got {config.schedule!r}")

    def dataset_sizes(self) -> Dict[str, int]:
        return self.data.sizes()

    def initialize(self, seed: int) -> None:
        self._start.restore(seed, self.model, self._make_model, self.optimizer, self.scheduler)

    def _inputs(self, images: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
        if generator is not None and self.config.crop_padding > 0:
            images = random_crop_flip(images, self.config.crop_padding, generator, flip=self.config.flip)
        return normalize(images, self.data.pixel_max, self.data.mean, self.data.std)

    def train_epoch(self, task, loss_fn: nn.Module) -> EpochStats:
        images, labels = self._splits["train"]
        generator = task.generator()
        seed_global_rng(generator)
        order = torch.randperm(labels.shape[0], generator=generator)
        batches = list(order.split(self.config.batch_size))
        if len(batches) > 1 and batches[-1].numel() == 1:
            batches.pop()  # a batch of one breaks batch norm
        self.model.train()
        loop = EpochLoop(task, self.optimizer, len(batches))
        for index in batches:
            index = index.to(self.device)
            x = self._inputs(images[index], generator)
            x, y = loop.shard(x, labels[index])
            cosine, scale = softmax_branch(self.model, x)
            loop.step(loss_fn(cosine, y, scale), y.shape[0])
        if self.scheduler is not None:
            self.scheduler.step()
        return loop.stats()

    def softmax_branches(self, count: int) -> List[SoftmaxBranch]:
        images, labels = self._splits["train"]
        self.model.train()
        cosine, scale = softmax_branch(self.model, self._inputs(images[:count], None))
        return [SoftmaxBranch(cosine, scale, labels[:count])]

    @torch.no_grad()
    def evaluate(self, split: str) -> Dict[str, float]:
        if split not in ("val", "test"):
            raise BaselineError(f"Expected a split val or test, got {split!r}")
        images, labels = self._splits[split]
        self.model.eval()
        metrics = ClassificationMetrics()
        for start in range(0, labels.shape[0], self.config.eval_batch_size):
            stop = start + self.config.eval_batch_size
            metrics.update(self.model(self._inputs(images[start:stop], None)), labels[start:stop])
        return metrics.compute()
