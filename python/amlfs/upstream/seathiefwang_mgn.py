"""Adapter ``mgn-seathiefwang``: MGN (Wang et al., "Learning Discriminative Features with Multiple
Granularities for Person Re-Identification", ACM MM 2018) as seathiefwang/MGN-pytorch (tested at
384e820, no licence: read from the user's checkout, never copied) trains it, with its 8 softmax
heads searched.

Built as ``main.py`` builds it, from the repository's own objects: ``option.py``'s arguments
(``sys.argv`` set to the best run of ``demo.sh``, line 50: Adam, lr 2e-4, amsgrad, weight decay
5e-4, 400 epochs, ``MultiStepLR`` at 320 and 380 (gamma 0.1), ``1*CrossEntropy+2*Triplet`` with
margin 1.2, random erasing; ``option.py``'s defaults for the rest: P x K = 16 x 4, 384 x 128
images, average pooling, 256-d features), ``data.Data`` (``Market1501``, resize - flip - normalize
- ``RandomErasing(0.5, mean 0)``, ``RandomSampler``: one pass over the identities per epoch),
``model.Model`` (``model/mgn.py``: ``MGN``), ``loss.Loss`` (``loss/__init__.py``, with
``loss/triplet.py``'s ``TripletLoss``) and ``Trainer`` (``trainer.py``, with ``utils/utility.py``'s
``make_optimizer`` and ``make_scheduler``).

One task is one ``Trainer.train()``: the scheduler's step, then every batch of the loader. The
searched loss replaces only the cross-entropy of the 8 classification heads (``fc_id_*``, linear
layers with bias after the 256-d reductions): ``Loss.forward`` still averages it over the 8 heads
and adds ``2 *`` the mean ``TripletLoss`` of the 3 global features, but each head's logits reach
the searched loss as ``(cosine, scale)`` of that head (:func:`amlfs.loss.linear_cosine_and_scale`,
bias folded in), which forward hooks on the heads record (:class:`HeadTaps`). The identity
``theta`` is the repository's own loss. The recipe's ``scheduler`` is the repository's
``MultiStepLR``, stepped at the start of each epoch as ``Trainer.train`` does it (so the LR falls
in the 320th and 380th epochs); a shorter search sees the first ``search.epochs`` of 400.

Evaluation as ``Trainer.test`` extracts features: ``data.Data``'s query and gallery loaders
(resize - normalize), ``Trainer.extract_feature`` (the sum of the 2048-d ``predict`` of the image
and its mirror, L2-normalized) in eval mode, Euclidean distances (its ``cdist`` branch); the
metrics are :func:`amlfs.eval.evaluate_reid`'s mAP and CMC on our splits (``val``: held-out training
identities, the reward; ``test``: the official query/gallery), without the ``--re_rank`` of
``demo.sh`` (as the built-in baselines' reward).

Work-arounds, none of which edits the checkout:

- ``option.py`` parses ``sys.argv`` at import: it is imported afresh with ``sys.argv`` set to our
  arguments (:data:`DEMO_ARGV` plus the data folder, P/K, loader processes, identities, ``--cpu``).
- ``loss/__init__.py`` and ``utils/utility.py`` import matplotlib (and scipy), ``trainer.py`` scipy
  and scikit-learn, only to plot, re-rank and score; none is needed here, so ``Loss``, ``Trainer``,
  ``make_optimizer`` and ``make_scheduler`` are compiled from the files' own text alone
  (:func:`definition_from_source`) with what they use as globals.
- ``model/mgn.py`` calls ``resnet50(pretrained=True)``, which downloads ImageNet weights: during
  construction it gets a ``resnet50`` that loads ``pretrainedPath`` instead (a torchvision
  ResNet-50 state), or, without it, nothing (training from scratch, with a warning).
- ``--cpu`` keeps the repository's ``.to('cuda')`` and ``DataParallel`` away; the adapter moves the
  model to the worker's device and sets the trainer's ``device``.
- ``Market1501`` reads ``<datadir>/bounding_box_train`` (``query``, ``bounding_box_test``): each of
  our splits is a scratch folder of symlinks to its images (removed with the recipe or at exit).
  Its labels (pids in increasing order) are checked equal to ours.
- ``RandomSampler`` passes its dataset to ``Sampler.__init__``, which takes no argument in recent
  torch: during construction ``Sampler`` gets an ``__init__`` that ignores it.
- The repository's packages have generic names (``data``, ``model``, ``loss``, ``utils``): modules
  of those names from elsewhere are evicted before the checkout's are imported.
- ``RandomSampler`` and ``RandomErasing`` draw from Python's ``random``, the transforms from
  torch's: both (and NumPy's) are seeded from the task's generator; loader processes are seeded by
  torch from that state, so a task's batches follow from its seed alone.
- ``Trainer.train`` logs through its checkpoint object: ours sends the lines to our logger at
  DEBUG level; its loss is wrapped to report progress and stop on a non-finite loss (:class:`TaskLoss`).
- ``p``/``k`` override P/K only when given (small fixtures); ``numWorkers`` replaces ``--nThread``;
  ``evalBatchSize`` replaces ``--batchtest``. Under a process group every rank runs the whole batch.
- ``MGN``'s pooling kernels are sized for 384 x 128 inputs, so the image size cannot shrink.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import os
import time
import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple
from unittest import mock

import torch
from torch import nn

from ..baselines.errors import BaselineError
from ..baselines.recipe import EpochStats, Recipe, SoftmaxBranch, TrainingStart
from ..data.reid.images import ReidImages
from ..data.reid_registry import ReidData, load_reid_dataset
from ..eval import evaluate_reid, pairwise_distance
from ..loss.linear_head import linear_cosine_and_scale
from ..task_errors import NonFiniteLoss
from .adapters import get_adapter
from .checkout import Checkout
from .common import ScratchFolders, ignore_data_source, seed_task_rngs
from .seathiefwang_code import LogOnly, RepositoryCode, local_resnet50, mgn_imagenet_state, parse_option_argv

NAME = "mgn-seathiefwang"
log = logging.getLogger(f"amlfs.upstream.{NAME}")

#: ``demo.sh`` line 50 (its best run: mAP 0.9383, rank1 0.9578 with re-ranking, line 49), less what
#: only concerns its machine and output (``--datadir``, ``--nGPU 2``, ``--save``, ``--reset``,
#: ``--test_every``, ``--re_rank``, ``--batchtest``); ``--batchid 16`` is option.py's default too.
DEMO_ARGV = ("--batchid", "16", "--epochs", "400", "--decay_type", "step_320_380", "--loss", "1*CrossEntropy+2*Triplet",
             "--margin", "1.2", "--lr", "2e-4", "--optimizer", "ADAM", "--random_erasing", "--amsgrad")
#: ``model/mgn.py``'s classification heads, in the order of its outputs ``[4:]``.
HEADS = ("fc_id_2048_0", "fc_id_2048_1", "fc_id_2048_2", "fc_id_256_1_0", "fc_id_256_1_1", "fc_id_256_2_0",
         "fc_id_256_2_1", "fc_id_256_2_2")
OPTION_DEFAULTS = {"batchid": 16, "batchimage": 4}  # option.py:16-17


# --- the searched loss in place of the heads' cross-entropy -------------------------------------------


class HeadTaps:
    """Forward hooks on MGN's 8 classification heads recording each call's input ``[N, 256]`` and
    output logits ``[N, C]``, so that a logits tensor can be turned back into its head's
    ``(cosine, scale)``. The records of a forward are dropped when the next forward of the net starts."""

    def __init__(self, net: nn.Module):
        self.heads = [getattr(net, name) for name in HEADS]
        self.seen: Dict[int, Tuple[torch.Tensor, torch.Tensor, nn.Linear]] = {}
        self._handles = [net.register_forward_pre_hook(lambda module, inputs: self.seen.clear())]
        self._handles += [head.register_forward_hook(self._record) for head in self.heads]

    def _record(self, head: nn.Linear, inputs, output: torch.Tensor) -> None:
        self.seen[id(output)] = (output, inputs[0], head)

    def cosine_and_scale(self, logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(cosine [N, C], scale [N, C])`` of the head that produced ``logits`` in the last forward."""
        entry = self.seen.get(id(logits))
        if entry is None or entry[0] is not logits:
            raise BaselineError(f"{NAME}: the loss was given logits that no classification head of MGN produced "
                                "in the last forward (expected the outputs [4:] of model/mgn.py's MGN.forward)")
        _, features, head = entry
        return linear_cosine_and_scale(logits, features, head.weight, head.bias)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self.seen.clear()


class SearchedHead(nn.Module):
    """What ``Loss`` calls in place of ``nn.CrossEntropyLoss()``: ``searched(cosine, labels, scale)``
    of the head behind ``logits``."""

    def __init__(self, searched: nn.Module, taps: HeadTaps):
        super().__init__()
        self.searched = searched
        self.taps = taps

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cosine, scale = self.taps.cosine_and_scale(logits)
        return self.searched(cosine, labels, scale)


def with_searched_heads(loss, searched: nn.Module, taps: HeadTaps):
    """The repository's ``Loss`` with each ``CrossEntropy`` term's function replaced (weights kept)."""
    replaced = 0
    for term in loss.loss:
        if term["type"] == "CrossEntropy":
            term["function"] = SearchedHead(searched, taps)
            replaced += 1
    if replaced != 1:
        raise BaselineError(f"{NAME}: expected one CrossEntropy term in --loss {loss.args.loss!r}, found {replaced}")
    return loss


class TaskLoss:
    """What ``Trainer.train`` holds as its loss: the repository's ``Loss``, each batch's value checked
    (:class:`NonFiniteLoss` before ``backward``) and reported to the task after the optimizer step
    (``Trainer.train`` calls ``display_loss`` then)."""

    def __init__(self, loss, task, steps: int):
        self.loss, self.task, self.steps = loss, task, steps
        self.started = time.monotonic()
        self.done = self.seen = 0
        self.loss_sum = 0.0
        self._last: Tuple[float, int] = (math.nan, 0)

    def __call__(self, outputs, labels: torch.Tensor) -> torch.Tensor:
        value = self.loss(outputs, labels)
        number = float(value.detach())
        if not math.isfinite(number):
            raise NonFiniteLoss(f"loss is {'NaN' if math.isnan(number) else 'infinite'} at step {self.done + 1}")
        self._last = (number, int(labels.shape[0]))
        return value

    def display_loss(self, batch: int) -> str:
        number, size = self._last
        self.done += 1
        self.seen += size
        self.loss_sum += number * size
        self.task.progress(self.done, self.steps, number, samples=self.seen)
        return self.loss.display_loss(batch)

    def step(self) -> None:
        self.loss.step()

    def start_log(self) -> None:
        self.loss.start_log()

    def end_log(self, batches: int) -> None:
        self.loss.end_log(batches)

    def stats(self) -> EpochStats:
        return EpochStats(mean_loss=self.loss_sum / max(self.seen, 1), steps=self.done, samples=self.seen,
                          train_ms=(time.monotonic() - self.started) * 1000.0)


# --- the recipe ----------------------------------------------------------------------------------------


class SeathiefwangMgnRecipe(Recipe):
    """The repository's objects (``code``), built as ``main.py`` builds them from ``args``, one
    ``Trainer.train()`` per task; see the module docstring."""

    reward_metric = "mAP"
    reward_metrics = get_adapter(NAME).reward_metrics

    def __init__(self, checkout: Checkout, data: ReidData, options: Mapping[str, Any], device: torch.device,
                 seed: int):
        self.data = data
        self.device = torch.device(device)
        self.code = RepositoryCode(checkout)
        self.folders = ScratchFolders(NAME)
        train_dir = self.datadir("train", {"bounding_box_train": data.train.images, "query": None,
                                           "bounding_box_test": None})
        self.args = parse_option_argv(checkout, self.argv(options, train_dir))
        self._check_batch_shape(options)
        self._pretrained = mgn_imagenet_state(options.get("pretrainedPath"))
        self._where = options.get("pretrainedPath")
        self.ckpt = LogOnly()
        self.loader = self.make_data(self.args)
        self._check_labels()
        self._eval_loaders: Dict[str, Any] = {}

        torch.manual_seed(seed)
        self.model = self.make_model().to(self.device)
        self.taps = HeadTaps(self.model.get_model())
        with contextlib.redirect_stdout(io.StringIO()):
            self.loss = self.code.Loss(self.args, self.ckpt)
        self.trainer = self.code.Trainer(self.args, self.model, self.loss, self.loader, self.ckpt)
        self.trainer.device = self.device
        self.optimizer = self.trainer.optimizer
        self.scheduler = self.trainer.scheduler
        self._start = TrainingStart.of(self.optimizer, self.scheduler)

    def argv(self, options: Mapping[str, Any], datadir: str) -> List[str]:
        """:data:`DEMO_ARGV`, then ours: the data folder, P/K where given, loader processes and batch, the
        training split's identities, and the CPU (the adapter places the model itself)."""
        argv = [*DEMO_ARGV, "--datadir", datadir, "--nThread", str(options.get("numWorkers", 0)),
                "--batchtest", str(options.get("evalBatchSize", 128)),
                "--num_classes", str(self.data.train.num_classes), "--nGPU", "1", "--cpu"]
        for name, flag in (("p", "--batchid"), ("k", "--batchimage")):
            value = options.get(name)
            if value is not None:  # a positive integer (the option's kind)
                argv += [flag, str(value)]
        return argv

    def _check_batch_shape(self, options: Mapping[str, Any]) -> None:
        """``RandomSampler`` takes the identities ``p`` at a time and keeps the remainder as a last batch;
        ``TripletLoss`` needs a negative in every batch, so neither the split nor that remainder may be one identity."""
        identities, p = self.data.train.num_classes, self.args.batchid
        given = "" if options.get("p") is not None else f" (the repository's P = {p}; set `baseline.options.p`)"
        if identities < 2:
            raise BaselineError(f"{NAME}: the training split has {identities} identity; the triplet loss needs two")
        if identities % p == 1:
            raise BaselineError(f"`baseline.options.p`: {p} identities per batch{given} leave a last batch of one "
                                f"identity of the training split's {identities}, in which the repository's "
                                "TripletLoss finds no negative")

    def make_data(self, args: argparse.Namespace):
        """``data.Data(args)``: its ``RandomSampler`` given an ``__init__`` that takes its dataset."""
        with mock.patch.object(torch.utils.data.Sampler, "__init__", ignore_data_source):
            return self.code.data.Data(args)

    def _check_labels(self) -> None:
        train = self.data.train
        ours = {pid: label for pid, label in zip(train.images.pids, train.labels)}
        theirs = dict(self.loader.trainset._id2label)
        if theirs != ours or len(self.loader.trainset) != len(train.images):
            raise BaselineError(f"{NAME}: Market1501 reads the training split otherwise than our data split "
                                f"({len(self.loader.trainset)} images, {len(theirs)} identities; ours "
                                f"{len(train.images)}, {len(ours)})")

    def make_model(self) -> nn.Module:
        """``model.Model(args, ckpt)`` on the CPU (torch's global RNG), ``resnet50`` loading ``pretrainedPath``."""
        mgn = self.code.mgn
        resnet50 = local_resnet50(mgn.resnet50, self._pretrained, self._where)
        with self.code.imports(), mock.patch.object(mgn, "resnet50", resnet50), \
                contextlib.redirect_stdout(io.StringIO()):
            return self.code.model.Model(self.args, self.ckpt)

    def dataset_sizes(self) -> Dict[str, int]:
        return self.data.sizes()

    def initialize(self, seed: int) -> None:
        self._start.restore(seed, self.model, self.make_model, self.optimizer, self.scheduler)

    def train_epoch(self, task, loss_fn: nn.Module) -> EpochStats:
        seed_task_rngs(task.generator())
        loss = TaskLoss(with_searched_heads(self.loss, loss_fn, self.taps), task, len(self.loader.train_loader))
        self.trainer.loss = loss
        with warnings.catch_warnings():
            # Trainer.train steps the scheduler first and reads get_lr(), as torch 0.4 wanted;
            # TripletLoss uses addmm_'s old signature: torch warns about each, nothing is wrong.
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
            warnings.filterwarnings("ignore", message=r"To get the last learning rate computed by the scheduler")
            warnings.filterwarnings("ignore", message=r"This overload of addmm_ is deprecated")
            self.trainer.train()
        return loss.stats()

    def softmax_branches(self, count: int) -> List[SoftmaxBranch]:
        """The 8 heads' ``(cosine, scale)`` on the first ``count`` training images (the test transform)."""
        train = self.code.market1501.Market1501(self.args, self.loader.testset.transform, "train")
        items = [train[i] for i in range(min(count, len(train)))]
        x = torch.stack([image for image, _ in items]).to(self.device)
        y = torch.tensor([label for _, label in items], device=self.device)
        self.model.train()
        outputs = self.model(x)
        return [SoftmaxBranch(*self.taps.cosine_and_scale(logits), y) for logits in outputs[4:]]

    def datadir(self, split: str, folders: Mapping[str, Optional[ReidImages]]) -> str:
        """A scratch ``--datadir`` for ``split``: one folder of links per entry of ``folders`` (None: empty)."""
        for folder, images in folders.items():
            self.folders.links(os.path.join(split, folder), images, split)
        return os.path.join(self.folders.root, split)

    def eval_loaders(self, split: str):
        """``data.Data`` over the scratch folder of ``split``'s query and gallery (``--test_only``)."""
        if split not in self._eval_loaders:
            query, gallery = self.data.retrieval(split)
            datadir = self.datadir(split, {"query": query, "bounding_box_test": gallery})
            args = argparse.Namespace(**{**vars(self.args), "datadir": datadir, "test_only": True})
            self._eval_loaders[split] = self.make_data(args)
        return self._eval_loaders[split]

    @torch.no_grad()
    def extract(self, loader, dataset, images: ReidImages) -> torch.Tensor:
        """``Trainer.extract_feature``'s features ``[N, 2048]`` of ``images``, in their order."""
        self.model.eval()
        features = self.trainer.extract_feature(loader)
        position = {os.path.basename(path): i for i, path in enumerate(images.paths)}
        if len(dataset.imgs) != len(images.paths):
            raise BaselineError(f"{NAME}: Market1501 read {len(dataset.imgs)} images where the split has "
                                f"{len(images.paths)}")
        order = torch.tensor([position[os.path.basename(path)] for path in dataset.imgs])
        return torch.empty_like(features).index_copy_(0, order, features)

    def evaluate(self, split: str) -> Dict[str, float]:
        if split not in ("val", "test"):
            raise BaselineError(f"Expected a split val or test, got {split!r}")
        query, gallery = self.data.retrieval(split)
        loaders = self.eval_loaders(split)
        q = self.extract(loaders.query_loader, loaders.queryset, query)
        g = self.extract(loaders.test_loader, loaders.testset, gallery)
        result = evaluate_reid(pairwise_distance(q, g, "euclidean"), list(query.pids), list(gallery.pids),
                               list(query.camids), list(gallery.camids), max_rank=10)
        return {"mAP": float(result.mAP), "rank1": result.rank1, "rank5": result.rank5, "rank10": result.rank10}


def build(experiment: Mapping[str, Any], device: torch.device, checkout: Checkout,
          options: Mapping[str, Any]) -> SeathiefwangMgnRecipe:
    data = load_reid_dataset(experiment["dataset"], strict=options["strict"])
    return SeathiefwangMgnRecipe(checkout, data, options, device, experiment.get("seed", 0))
