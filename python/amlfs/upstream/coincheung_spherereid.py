"""Adapter ``spherereid-coincheung``: SphereReID (Fan et al., JVCIR 2019; arXiv 1807.00537) as
CoinCheung/SphereReID (tested at e02c7b9, MIT) trains it, with its softmax branch searched.

Imported from the user's checkout, unedited: ``Network_D`` (``backbone.py``: ResNet-50, last stride
1, GAP - BN - Dropout(0.5) - FC(2048 -> 1024) - BN), ``OhemSphereLoss`` (``sphere_loss.py``: its
``W [1024, C]`` and ``scale`` 14, ``thresh`` 0.8 as ``train.py`` builds it), ``Market1501``
(``market1501.py``: resize 288 x 144, crop 256 x 128, flip, random erasing), ``BalancedSampler``
(``balanced_sampler.py``: P = 16 identities x K = 4 images) and ``lr_scheduler`` (``train.py``:
exponential warmup from 1e-5 to 1e-3 over 20 epochs, times 0.1 at epochs 90 and 130). Built as
``train.py``'s ``train()`` builds them: Adam (lr 1e-3) over the net's and the criterion's parameters.

One task is one of the repository's epochs: ``lr_scheduler(epoch, optimizer)``, then every batch of
the loader. The searched loss replaces only the sphere softmax: ``cos [N, C]`` between ``x / ||x||``
and ``W_j / ||W_j||``, scale ``criterion.scale``, per-sample searched losses, and OHEM as
``OhemSphereLoss`` does it: the mean of the ``int(N * thresh)`` largest. The identity ``theta`` is
the repository's own loss. The epoch counter is the recipe's ``scheduler`` (so checkpoints carry it);
the learning rate lives in the optimizer's ``param_groups``. The schedule is in the repository's own
epochs (150): a shorter search sees its first ``search.epochs``.

Evaluation as ``evaluate.py``: ``Market1501(is_train=False)`` gives each image and its mirror, the
features are the mean of their (unit) embeddings in eval mode, and the gallery is ranked by
``1 - q.g`` (the order of ``evaluate.py``'s ``1 / (1 + q.g)``); the metrics are
:func:`amlfs.eval.evaluate_reid`'s mAP and CMC on our splits (``val``: held-out training
identities, the reward; ``test``: the official query/gallery), as for the built-in baselines.

Work-arounds, none of which edits the checkout:

- ``Network_D.__init__`` downloads ImageNet weights (``model_zoo.load_url``); during construction
  the adapter gives it ``pretrainedPath`` (``torch.load``) instead, or, without it, an empty state,
  so the net keeps its fresh initialisation and trains from scratch (a warning says so).
- ``train.py`` configures logging and creates ``./res`` at import: only its ``lr_scheduler`` is
  compiled from its text (:func:`~amlfs.upstream.checkout.function_from_source`), with our logger.
- ``train.py`` calls ``.cuda()``: the adapter builds on the worker's device instead.
- ``Market1501`` reads a whole folder, and our training split holds out validation identities: each
  split is a scratch folder of symlinks to its images (removed with the recipe, or at exit). The
  folder is listed in sorted order during construction, so its labels (pids in increasing order)
  are the same in every worker, and equal to ours.
- ``BalancedSampler`` passes its dataset to ``Sampler.__init__``, which takes no argument in
  recent torch: during its construction ``Sampler`` gets an ``__init__`` that ignores it.
- ``BalancedSampler`` and ``RandomErasing`` draw from Python's ``random`` and NumPy's global state,
  the transforms and dropout from torch's: all three are seeded from the task's generator, and the
  sampler is built per task, so a task's batches follow from its seed alone.
- ``p``/``k`` override P/K only when given (small fixtures); ``numWorkers`` replaces the loader's 8
  processes. Under a process group every rank runs the whole batch (OHEM picks from the whole batch).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ..baselines.errors import BaselineError
from ..baselines.recipe import EpochLoop, EpochStats, Recipe, SoftmaxBranch, TrainingStart
from ..data.reid.images import ReidImages
from ..data.reid_registry import ReidData, load_reid_dataset
from ..eval import evaluate_reid
from ..loss import hard_example_loss
from .adapters import get_adapter
from .checkout import Checkout, function_from_source, load_module
from .common import ScratchFolders, ignore_data_source, imagenet_state, seed_task_rngs
from .epoch_counter import EpochCounter

NAME = "spherereid-coincheung"
log = logging.getLogger(f"amlfs.upstream.{NAME}")

# train.py's train(): the values it builds with (the function itself cannot be imported apart).
EMBEDDING_DIM = 1024
OHEM_THRESH = 0.8
LR = 1e-3
P, K = 16, 4


class CoinCheungModel(nn.Module):
    """``Network_D`` (``net``) and the criterion holding ``W`` (``criterion``), one module so that a
    checkpoint holds both. ``forward(x)`` is the net's embedding ``[N, 1024]`` (unit rows in eval mode)."""

    def __init__(self, net: nn.Module, criterion: nn.Module):
        super().__init__()
        self.net = net
        self.criterion = criterion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def branch(self, x: torch.Tensor) -> Tuple[torch.Tensor, float]:
        """The sphere softmax's ``cos [N, C]`` (unit embeddings against unit columns of ``W [D, C]``)
        and its scale, as the repository's losses compute them before the cross-entropy."""
        cosine = F.normalize(self.net(x), dim=1, eps=1e-12) @ F.normalize(self.criterion.W, dim=0, eps=1e-12)
        return cosine, float(self.criterion.scale)


def ohem_searched_loss(model: CoinCheungModel, x: torch.Tensor, target: torch.Tensor,
                       loss_fn: nn.Module) -> torch.Tensor:
    """The training loss of a batch: the searched loss in place of the sphere softmax's cross-entropy,
    then ``OhemSphereLoss``'s selection, the mean of the ``int(N * thresh)`` largest per-sample losses
    (:func:`amlfs.loss.hard_example_loss`; the loss's ``stats`` still count every sample)."""
    cosine, scale = model.branch(x)
    return hard_example_loss(loss_fn, cosine, target, scale, model.criterion.thresh)


class _SortedListing:
    """``os`` for ``market1501.py`` while it reads a folder: ``listdir`` in sorted order, the rest as is."""

    def __getattr__(self, name: str):
        return getattr(os, name)

    @staticmethod
    def listdir(path):
        return sorted(os.listdir(path))


class CoinCheungSphereReIDRecipe(Recipe):
    """The repository's objects (``code``: its modules), built as ``train.py`` builds them, driven one
    of its epochs per task; see the module docstring. ``p``/``k`` are P/K, ``train_set`` the
    repository's ``Market1501`` over our training split."""

    reward_metric = "mAP"
    reward_metrics = get_adapter(NAME).reward_metrics

    def __init__(self, checkout: Checkout, data: ReidData, options: Mapping[str, Any], device: torch.device,
                 seed: int):
        self.data = data
        self.device = torch.device(device)
        self.p = P if options.get("p") is None else options["p"]
        self.k = K if options.get("k") is None else options["k"]
        self.num_workers = options.get("numWorkers", 0)
        self.eval_batch_size = options.get("evalBatchSize", 128)
        self._check_batch_shape(options)
        self.code = {name: load_module(checkout, name)
                     for name in ("backbone", "sphere_loss", "market1501", "balanced_sampler")}
        self.lr_scheduler = checkout_lr_scheduler(checkout)
        self._pretrained = pretrained_state(options.get("pretrainedPath"))
        self.folders = ScratchFolders(NAME)
        self._split_folders: Dict[str, str] = {}
        self.train_set = self.market1501("train", data.train.images, is_train=True)
        self._check_labels()
        self._datasets: Dict[str, Any] = {}

        torch.manual_seed(seed)
        self.model = self.make_model().to(self.device)
        params = list(self.model.net.parameters()) + list(self.model.criterion.parameters())
        self.optimizer = torch.optim.Adam(params, lr=LR)
        self.scheduler = EpochCounter()
        self._start = TrainingStart.of(self.optimizer, self.scheduler)

    def _check_batch_shape(self, options: Mapping[str, Any]) -> None:
        for name, value in (("p", self.p), ("k", self.k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BaselineError(f"`baseline.options.{name}`: expected a positive integer, got {value!r}")
        given = "" if options.get("p") is not None else f" (the repository's P = {P}; set `baseline.options.p`)"
        if self.p > self.data.train.num_classes:
            raise BaselineError(f"`baseline.options.p`: {self.p} identities per batch{given}, but the training "
                                f"split has only {self.data.train.num_classes}: an epoch would have no batch")
        if int(self.p * self.k * OHEM_THRESH) < 1:
            raise BaselineError(f"`baseline.options.p`/`k`: a batch of {self.p} x {self.k} images keeps "
                                f"int({self.p * self.k} * {OHEM_THRESH}) = 0 samples for OHEM; use at least 2 images")

    def market1501(self, split: str, images: ReidImages, is_train: bool):
        """The repository's ``Market1501`` over a scratch folder holding ``images``."""
        module = self.code["market1501"]
        if split not in self._split_folders:
            self._split_folders[split] = self.folders.links(split, images, split)
        folder = self._split_folders[split]
        with mock.patch.object(module, "os", _SortedListing()):
            return module.Market1501(folder, is_train=is_train)

    def _check_labels(self) -> None:
        train = self.data.train
        ours = {pid: label for pid, label in zip(train.images.pids, train.labels)}
        if dict(self.train_set.pid_label_map) != ours:
            raise BaselineError(f"{NAME}: Market1501 labels the training identities otherwise than the data split")

    def balanced_sampler(self):
        """The repository's ``BalancedSampler(dataset, P, K)``. It hands the dataset on to
        ``Sampler.__init__``, which takes no argument in current torch (older versions took it and did
        nothing with it): during construction ``Sampler`` gets an ``__init__`` that takes and ignores it."""
        module = self.code["balanced_sampler"]
        with mock.patch.object(module.Sampler, "__init__", ignore_data_source, create=True):
            return module.BalancedSampler(self.train_set, self.p, self.k)

    def make_model(self) -> CoinCheungModel:
        """The criterion, then the net, as ``train.py`` builds them (on the CPU; torch's global RNG)."""
        criterion = self.code["sphere_loss"].OhemSphereLoss(EMBEDDING_DIM, self.data.train.num_classes,
                                                               thresh=OHEM_THRESH)
        backbone = self.code["backbone"]
        pretrained = self._pretrained
        try:
            with mock.patch.object(backbone, "model_zoo", _LocalModelZoo(pretrained)):
                net = backbone.Network_D()
        except RuntimeError as error:  # Network_D's load_state_dict: keys or shapes of another net
            raise BaselineError(f"`baseline.options.pretrainedPath`: Network_D cannot load it: {error}") from error
        return CoinCheungModel(net, criterion)

    def dataset_sizes(self) -> Dict[str, int]:
        return self.data.sizes()

    def initialize(self, seed: int) -> None:
        self._start.restore(seed, self.model, self.make_model, self.optimizer, self.scheduler)

    def train_epoch(self, task, loss_fn: nn.Module) -> EpochStats:
        seed_task_rngs(task.generator())
        self.lr_scheduler(self.scheduler.epoch, self.optimizer)
        sampler = self.balanced_sampler()
        loader = DataLoader(self.train_set, batch_sampler=sampler, num_workers=self.num_workers)
        self.model.train()
        loop = EpochLoop(task, self.optimizer, len(sampler))
        for images, labels, _ in loader:
            x, y = images.to(self.device), labels.to(self.device)
            loop.step(ohem_searched_loss(self.model, x, y, loss_fn), y.shape[0])
        self.scheduler.epoch += 1
        return loop.stats()

    def softmax_branches(self, count: int) -> List[SoftmaxBranch]:
        dataset = self._dataset("train-eval", self.data.train.images)
        items = [dataset[i] for i in range(min(count, len(dataset)))]
        x = torch.stack([views[0] for views, _, _ in items]).to(self.device)
        y = torch.tensor([label for _, label, _ in items], device=self.device)
        self.model.train()
        cosine, scale = self.model.branch(x)
        return [SoftmaxBranch(cosine, scale, y)]

    def _dataset(self, split: str, images: ReidImages):
        if split not in self._datasets:
            self._datasets[split] = self.market1501(split, images, is_train=False)
        return self._datasets[split]

    @torch.no_grad()
    def extract(self, split: str, images: ReidImages) -> torch.Tensor:
        """``evaluate.py``'s features ``[N, 1024]`` of ``images``, in their order: the mean of the unit
        embeddings of the image and its mirror."""
        dataset = self._dataset(split, images)
        loader = DataLoader(dataset, batch_size=self.eval_batch_size, num_workers=self.num_workers)
        self.model.eval()
        parts = []
        for views, _, _ in loader:
            parts.append(sum(self.model(view.to(self.device)) for view in views) / len(views))
        features = torch.cat(parts)
        position = {os.path.basename(path): i for i, path in enumerate(images.paths)}
        order = torch.tensor([position[os.path.basename(path)] for path in dataset.im_pths], device=features.device)
        return torch.empty_like(features).index_copy_(0, order, features)

    def evaluate(self, split: str) -> Dict[str, float]:
        if split not in ("val", "test"):
            raise BaselineError(f"Expected a split val or test, got {split!r}")
        query, gallery = self.data.retrieval(split)
        q, g = self.extract(f"{split}-query", query), self.extract(f"{split}-gallery", gallery)
        result = evaluate_reid(1.0 - q @ g.t(), list(query.pids), list(gallery.pids), list(query.camids),
                               list(gallery.camids), max_rank=10)
        return {"mAP": float(result.mAP), "rank1": result.rank1, "rank5": result.rank5, "rank10": result.rank10}


class _LocalModelZoo:
    """``model_zoo`` for ``backbone.py`` while ``Network_D`` is built: ``load_url`` returns the local
    ImageNet state (or an empty one: nothing is loaded) instead of downloading."""

    def __init__(self, state: Optional[Dict[str, torch.Tensor]]):
        self.state = state

    def load_url(self, url, *args, **kwargs):
        return dict(self.state) if self.state is not None else {}


def pretrained_state(path: Optional[str]) -> Optional[Dict[str, torch.Tensor]]:
    """The ImageNet ResNet-50 state at ``path`` (a torchvision ``.pth``), or None with a warning."""
    return imagenet_state(path, NAME, "backbone.py", log)


def checkout_lr_scheduler(checkout: Checkout):
    """``train.py``'s ``lr_scheduler(epoch, optimizer)``, compiled alone, logging to our logger."""
    return function_from_source(checkout, "train.py", "lr_scheduler", {"logger": log})


def build(experiment: Mapping[str, Any], device: torch.device, checkout: Checkout,
          options: Mapping[str, Any]) -> CoinCheungSphereReIDRecipe:
    data = load_reid_dataset(experiment["dataset"], strict=options["strict"])
    return CoinCheungSphereReIDRecipe(checkout, data, options, device, experiment.get("seed", 0))
