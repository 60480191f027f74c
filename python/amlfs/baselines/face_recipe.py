"""Face recognition trained as identity classification through a head; rewards are verification accuracy.

The model provides ``embed(x) -> [N, D]`` (the face embedding) and ``head`` (an
:class:`amlfs.heads.Head` owning ``weight [C, D]``). With the ``searched`` head the
training loss is the worker's searched loss on the head's normalized cosines and its
scale ``s`` (the margin softmax AM-LFS replaces); with a fixed head (softmax, SphereFace,
CosFace, ArcFace: the comparison rows of the paper's Table 3) it is the head's own loss,
and the sampled ``theta`` is not used (such runs are ``search.mode: "baseline"``).

Training: the training images in a random order (the task's generator), ``batch_size`` per
step (the last partial batch dropped, as a fixed-iteration recipe does), a random horizontal
flip, ``(x/255 - 0.5)/0.5``; SGD with momentum; the learning rate steps at iteration
milestones (the scheduler steps once per iteration, so its state counts iterations).
Evaluation (:meth:`FaceRecipe.evaluate`): each image of the pairs is described by
``concat(f(image), f(flip))`` (CosFace Sec. 4.1), pairs scored by cosine similarity, and
the k-fold verification protocol of LFW (:func:`amlfs.eval.evaluate_verification`):
``"val"`` on pairs of held-out training identities (the reward), ``"test"`` on LFW's
``pairs.txt`` (10 folds), with TAR at FAR 1e-3.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..data.face import FaceData, FaceImageDataset, face_eval_transform, face_train_augment, with_flipped
from ..eval.face_verification import FLIP_COMBINATIONS, combine_flip, evaluate_verification, pair_cosine_similarity
from ..heads import SearchedHead
from ..heads.checks import normalized_cosine
from .errors import BaselineError
from .recipe import EpochLoop, EpochStats, Recipe, SoftmaxBranch, TrainingStart, seed_global_rng

ModelFactory = Callable[[int], nn.Module]  # num_classes -> model with embed() and head


@dataclass(frozen=True)
class FaceConfig:
    """A face training recipe: SGD, batch size, and LR milestones in iterations of this run."""

    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    milestones: Tuple[int, ...]
    gamma: float = 0.1
    input_px: Tuple[int, int] = (112, 96)
    flip_test: bool = True
    eval_batch_size: int = 256
    num_workers: int = 0


@torch.no_grad()
def face_descriptors(model: nn.Module, loader: DataLoader, device: torch.device, flip_test: bool):
    """Per batch of ``loader`` (uint8 images, labels): the descriptors ``concat(f(image), f(flip))``
    ``[n, 2D]`` (CosFace Sec. 4.1), or ``f(image)`` ``[n, D]`` without ``flip_test``; ``f`` is ``model.embed``."""
    for pixels, _ in loader:
        x = face_eval_transform(pixels).to(device)
        if flip_test:
            features, flipped = model.embed(with_flipped(x)).chunk(2)
            yield combine_flip(features, flipped, "concat")
        else:
            yield model.embed(x)


class FaceRecipe(Recipe):
    reward_metric = "verificationAccuracy"
    reward_metrics = ("verificationAccuracy",)

    def __init__(self, data: FaceData, make_model: ModelFactory, config: FaceConfig, device: torch.device, seed: int):
        self.data = data
        self.config = config
        self.device = torch.device(device)
        if config.batch_size > len(data.train):
            raise BaselineError(f"`baseline.options.batchSize`: {config.batch_size} exceeds the "
                                f"{len(data.train)} training images")
        self._make_model = lambda: make_model(data.num_classes)
        torch.manual_seed(seed)
        self.model = self._make_model().to(self.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, list(config.milestones), config.gamma)
        self._start = TrainingStart.of(self.optimizer, self.scheduler)

    @property
    def searched(self) -> bool:
        """Whether the softmax branch is the searched loss (else the head's own fixed loss)."""
        return isinstance(self.model.head, SearchedHead)

    def steps_per_epoch(self) -> int:
        return len(self.data.train) // self.config.batch_size

    def dataset_sizes(self) -> Dict[str, int]:
        return self.data.sizes()

    def initialize(self, seed: int) -> None:
        self._start.restore(seed, self.model, self._make_model, self.optimizer, self.scheduler)

    def _loader(self, paths, labels=None, batch_sampler=None) -> DataLoader:
        dataset = FaceImageDataset(paths, labels, *self.config.input_px)
        if batch_sampler is not None:
            return DataLoader(dataset, batch_sampler=batch_sampler, num_workers=self.config.num_workers)
        return DataLoader(dataset, batch_size=self.config.eval_batch_size, num_workers=self.config.num_workers)

    def _branch_loss(self, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module) -> torch.Tensor:
        embedding = self.model.embed(x)
        head = self.model.head
        if self.searched:
            return loss_fn(normalized_cosine(embedding, head.weight), y, head.scale)
        return head(embedding, y)

    def train_epoch(self, task, loss_fn: nn.Module) -> EpochStats:
        generator = task.generator()
        seed_global_rng(generator)
        augment_generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (), generator=generator)))
        order = torch.randperm(len(self.data.train), generator=generator)
        steps = self.steps_per_epoch()
        batches = order[: steps * self.config.batch_size].view(steps, -1).tolist()
        loader = self._loader(self.data.train.paths, self.data.train.labels, batch_sampler=batches)
        self.model.train()
        loop = EpochLoop(task, self.optimizer, steps)
        for images, labels in loader:
            x = face_train_augment(images, augment_generator).to(self.device)
            x, y = loop.shard(x, labels.to(self.device))
            loop.step(self._branch_loss(x, y, loss_fn), y.shape[0])
            self.scheduler.step()  # milestones are in iterations
        return loop.stats()

    def softmax_branches(self, count: int) -> List[SoftmaxBranch]:
        """The searched head's branch; none with a fixed head (its loss is not replaced)."""
        if not self.searched:
            return []
        train = FaceImageDataset(self.data.train.paths, self.data.train.labels, *self.config.input_px)
        items = [train[i] for i in range(min(count, len(train)))]
        x = face_eval_transform(torch.stack([pixels for pixels, _ in items])).to(self.device)
        y = torch.tensor([label for _, label in items], device=self.device)
        self.model.train()
        return [SoftmaxBranch(normalized_cosine(self.model.embed(x), self.model.head.weight), self.model.head.scale, y)]

    def extract(self, paths) -> torch.Tensor:
        """Descriptors ``[N, 2D]`` (``concat(f(image), f(flip))``) or ``[N, D]`` without ``flip_test``."""
        self.model.eval()
        return torch.cat([features.cpu() for features in face_descriptors(self.model, self._loader(paths), self.device,
                                                                          self.config.flip_test)])

    def evaluate(self, split: str) -> Dict[str, float]:
        """``verificationAccuracy`` (mean over folds), ``verificationAccuracyStd`` (population std) and
        ``tarAtFar1e-3`` on the pairs of ``split`` (``"val"``: held-out training identities; ``"test"``: LFW)."""
        return verification_metrics(self.data, split, self.extract, self.config.flip_test)


def verification_metrics(data, split: str, extract: Callable[[Sequence[str]], torch.Tensor],
                         flip_test: bool) -> Dict[str, float]:
    """The LFW protocol on the pairs of ``split`` of ``data`` (``"val"`` or ``"test"``), with descriptors
    from ``extract(paths)`` (``concat(f(image), f(flip))`` when ``flip_test``): ``verificationAccuracy``
    (mean over folds), ``verificationAccuracyStd`` (population std) and ``tarAtFar1e-3``."""
    if split not in ("val", "test"):
        raise BaselineError(f"Expected a split val or test, got {split!r}")
    index = data.pairs(split).as_index()
    features = extract(index.paths)
    scores = pair_cosine_similarity(features[index.index[:, 0]], features[index.index[:, 1]])
    result = evaluate_verification(scores, index.same, index.fold, fars=(1e-3,),
                                   feature_combination=FLIP_COMBINATIONS["concat"] if flip_test else "image only")
    out = {"verificationAccuracy": result.accuracy, "verificationAccuracyStd": result.accuracy_std}
    out.update({key: value for key, value in result.as_dict().items() if key.startswith("tarAtFar")})
    return out
