"""Adapter ``cosface-mugglewang``: CosFace (Wang et al., CVPR 2018) trained by MuggleWang/CosFace_pytorch's
own code (MIT, tested at 81de0a9), with the searched loss in place of its margin softmax.

From the user's checkout, unedited: ``net.sphere(type=20)`` ("sphere20": 112 x 96 RGB faces to a 512-d
embedding), ``layer.MarginCosineProduct(512, C)`` as the classifier, ``dataset.ImageList`` over a list
file, and ``main.py`` itself, whose ``train(train_loader, model, classifier, criterion, optimizer, epoch)``
runs each task's epoch (it also calls ``adjust_learning_rate`` every iteration). What ``main()`` builds,
built as it builds it: ``RandomHorizontalFlip``, ``ToTensor``, ``Normalize(0.5, 0.5)``; a loader of
``--batch_size`` (512) images, shuffled, the last partial batch dropped; SGD over two parameter groups
(the net's, the classifier's) with ``--lr`` 0.1, ``--momentum`` 0.9, ``--weight_decay`` 5e-4, all read
from ``main.args``; the LR divided by 10 at iterations 16,000 and 24,000 (``args.step_size`` of
``--database WebFace``; a run shorter than that keeps 0.1). The iteration ``train`` computes,
``(epoch - 1) * len(loader) + batch``, continues across tasks: the epoch counter is the checkpointed
``scheduler``; the LR itself lives in the optimizer's ``param_groups``.

The loss: the classifier is built with ``m = 0``, so its output is ``s cos [N, C]`` (``s = 30``), and
``train``'s ``criterion(output, target)`` is the searched loss of ``output / s`` with scale ``s``. At
``theta = cosineMargin(0.40)`` this is the repository's ``MarginCosineProduct(m=0.40)`` followed by
``CrossEntropyLoss``; the margin is the searched loss's job. The criterion raises
:class:`~amlfs.task_errors.NonFiniteLoss` before ``train`` calls ``backward``, so a bad loss changes no
parameter; an optimizer step hook reports each step's progress.

Evaluation: ``lfw_eval.extractDeepFeature``'s descriptor ``concat(f(image), f(mirror)) [2 x 512]``,
computed in batches by the built-in face pipeline, and the built-in ``cosface``'s reward
(``verificationAccuracy``, the k-fold protocol on pairs of held-out training identities; LFW's
``pairs.txt`` for ``"test"``), so that rewards compare across the two.

Work-arounds, since ``main.py`` and ``lfw_eval.py`` are scripts written for the author's machine:

- ``main.py`` parses ``sys.argv`` at import: it is imported with ``sys.argv = [main.py]`` (the
  worker's own arguments would make argparse exit), so its defaults hold. Its ``args.database is
  'WebFace'`` (string identity, a ``SyntaxWarning``, silenced) is true only for that default, which then
  sets ``args.step_size``, ``args.num_class`` (10,572) and ``args.train_list`` (a path on the author's
  machine). Its sibling modules are imported first from the checkout, so that its ``import net``
  finds this checkout's and not another repository's ``net``; no ``__pycache__`` is written into it.
- ``main()`` is not called: it wraps the net in ``DataParallel`` (one device per worker here: skipped;
  the state dict has no ``module.`` prefix), builds a second net for evaluation, saves checkpoints into
  ``checkpoint/`` and evaluates through ``lfw_eval.eval``. What it builds is built here as above, with
  ``pin_memory`` only on CUDA, and a list file (``"relative/path label"`` per line, what
  ``default_reader`` reads) of our training split written in a scratch folder, removed with the recipe.
  The initial weights are drawn in ``main()``'s order (the net, its evaluation twin, the classifier).
- ``train`` reads the module globals ``args``, ``device`` and ``print_with_time``: while it runs they
  are this recipe's copy of ``args`` (our class count, batch size, list file, loader processes), the
  worker's device, and a function that logs to ``amlfs.upstream.cosface-mugglewang`` instead of stdout.
- ``main.py`` and ``lfw_eval.py`` set ``cudnn.benchmark = True`` at import: the worker's value is put
  back (autotuned kernels would make a task's result depend on the machine's timing).
- ``lfw_eval.py`` cannot run as is: ``extractDeepFeature`` moves images to ``'cuda'``, and ``eval``
  fails on Python 3 (``KFold`` slices with floats, ``np.array(map(...))``) and reads the author's
  LFW paths; hence the descriptor is computed as it computes it (tests compare the two).

Options: ``batchSize`` (main.py's 512 when null), ``numWorkers``, ``evalBatchSize``. ``p``, ``k`` and
``pretrainedPath`` are refused (``main.py`` trains sphere20 from scratch). ``strict`` is not applied: the
repository's own CASIA-WebFace list has 10,572 identities, not the original release's 10,575.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
import weakref
from typing import Any, Dict, List, Mapping, Optional, Tuple
from unittest import mock

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..baselines.errors import BaselineError
from ..baselines.face_recipe import face_descriptors, verification_metrics
from ..baselines.recipe import EpochStats, Recipe, SoftmaxBranch, TrainingStart, seed_global_rng
from ..data.face import FaceData, FaceImageDataset, FaceImages, face_eval_transform, load_face_dataset
from ..task_errors import NonFiniteLoss
from ..training_task import TrainingTask
from .adapters import get_adapter
from .checkout import Checkout, load_module
from .epoch_counter import EpochCounter

NAME = "cosface-mugglewang"
log = logging.getLogger(f"amlfs.upstream.{NAME}")

EMBEDDING_DIM = 512  # main(): MarginCosineProduct(512, args.num_class)
INPUT_PX = (112, 96)  # sphere20's fc is sized for a 7 x 6 map
SCRIPTS = ("net", "layer", "dataset", "lfw_eval", "main")  # main.py's imports first


class MuggleWangModel(nn.Module):
    """sphere20 (``net``) and ``MarginCosineProduct`` (``classifier``), one module so that a checkpoint
    holds both. ``forward(x [N, 3, 112, 96])`` and ``embed(x)`` are the net's embedding ``[N, 512]``."""

    def __init__(self, net: nn.Module, classifier: nn.Module):
        super().__init__()
        self.net = net
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def branch(self, x: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, float]:
        """The classifier's ``cos [N, C]`` (its output ``s cos`` at ``m = 0``, over ``s``) and ``s``."""
        scale = float(self.classifier.s)
        return self.classifier(self.net(x), target) / scale, scale


class EpochProgress:
    """What :class:`~amlfs.baselines.recipe.EpochLoop` keeps, around a loop that is not ours: :meth:`loss`
    checks each step's loss when the criterion computes it (before ``backward``); :meth:`stepped`, an
    optimizer step hook, reports the step once its parameters moved."""

    def __init__(self, task: TrainingTask, steps: int):
        self.task, self.steps = task, steps
        self.done = self.seen = 0
        self.loss_sum = 0.0
        self._pending: Optional[Tuple[float, int]] = None
        self.started = time.monotonic()

    def loss(self, value: float, batch_size: int) -> None:
        if not math.isfinite(value):
            raise NonFiniteLoss(f"loss is {'NaN' if math.isnan(value) else 'infinite'} at step {self.done + 1}")
        self._pending = (value, batch_size)

    def stepped(self, optimizer, args, kwargs) -> None:
        if self._pending is None:
            return
        value, batch_size = self._pending
        self._pending = None
        self.done += 1
        self.loss_sum += value * batch_size
        self.seen += batch_size
        self.task.progress(self.done, self.steps, value, samples=self.seen)

    def stats(self) -> EpochStats:
        return EpochStats(mean_loss=self.loss_sum / max(self.seen, 1), steps=self.done, samples=self.seen,
                          train_ms=(time.monotonic() - self.started) * 1000.0)


class SearchedCriterion:
    """``criterion(output, target)`` for ``main.train``: ``loss_fn`` (a :class:`~amlfs.loss.SearchedSoftmaxLoss`,
    mean) on ``cos = output / scale`` of the ``m = 0`` classifier's ``output = scale * cos [N, C]``."""

    def __init__(self, loss_fn: nn.Module, scale: float, progress: EpochProgress):
        self.loss_fn, self.scale, self.progress = loss_fn, scale, progress

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = self.loss_fn(output / self.scale, target, self.scale)
        self.progress.loss(float(loss.detach()), int(target.shape[0]))
        return loss


def train_transform():
    """``main()``'s training transform (RGB): random horizontal flip, ``ToTensor`` (0..1), ``(x - 0.5) / 0.5``."""
    from torchvision import transforms

    return transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                               transforms.Normalize(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))])


@contextlib.contextmanager
def _as_script(checkout: Checkout):
    """While the checkout's scripts are imported: ``sys.argv`` is ``[main.py]``, no bytecode is written
    into the checkout, their ``SyntaxWarning``\\s are silenced, and ``cudnn.benchmark`` is put back after."""
    argv, bytecode, benchmark = sys.argv, sys.dont_write_bytecode, torch.backends.cudnn.benchmark
    sys.argv = [str(checkout.root / "main.py")]
    sys.dont_write_bytecode = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            yield
    finally:
        sys.argv, sys.dont_write_bytecode = argv, bytecode
        torch.backends.cudnn.benchmark = benchmark


def import_scripts(checkout: Checkout) -> Dict[str, Any]:
    """The checkout's ``net``, ``layer``, ``dataset``, ``lfw_eval`` and ``main`` modules (see the module docstring)."""
    code: Dict[str, Any] = {}
    with _as_script(checkout):
        for name in SCRIPTS:
            try:
                code[name] = load_module(checkout, name)
            except (SystemExit, ValueError) as error:  # argparse's exit; "NOT SUPPORT DATABASE!"
                raise BaselineError(f"{checkout.repo.name}: importing {checkout.root / (name + '.py')} as a script "
                                    f"without arguments failed: {error!r}") from error
    return code


def write_train_list(path: str, root: str, images: FaceImages) -> None:
    """``main.py``'s ``--train_list``: ``"<path relative to root> <label>"`` per image (``default_reader``
    splits each line at its one space)."""
    lines = []
    for image, label in zip(images.paths, images.labels):
        relative = os.path.relpath(image, root)
        if len(relative.split()) != 1:
            raise BaselineError(f"{NAME}: the training image {image} has white space in its path, which "
                                "dataset.py's list reader cannot read")
        lines.append(f"{relative} {label}\n")
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(lines)


class MuggleWangCosFaceRecipe(Recipe):
    """The repository's objects (``code``: its modules), built as ``main()`` builds them, driven one
    ``main.train`` epoch per task; see the module docstring. ``args`` is this recipe's copy of
    ``main.args``; ``train_set`` the repository's ``ImageList`` over our training split."""

    reward_metric = "verificationAccuracy"
    reward_metrics = get_adapter(NAME).reward_metrics

    def __init__(self, checkout: Checkout, data: FaceData, options: Mapping[str, Any], device: torch.device,
                 seed: int):
        self.data = data
        self.device = torch.device(device)
        self.num_workers = options.get("numWorkers", 0)
        self.eval_batch_size = options.get("evalBatchSize", 128)
        self.code = import_scripts(checkout)
        self.main = self.code["main"]
        self.args = self._run_args(options.get("batchSize"))
        self._scratch = tempfile.mkdtemp(prefix=f"amlfs-{NAME}-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._scratch, True)
        self.args.root_path = data.roots.casia
        self.args.train_list = os.path.join(self._scratch, "train_list.txt")
        write_train_list(self.args.train_list, self.args.root_path, data.train)
        self.train_set = self.code["dataset"].ImageList(root=self.args.root_path, fileList=self.args.train_list,
                                                        transform=train_transform())
        self._check_image_size()

        torch.manual_seed(seed)
        self.model = self.make_model().to(self.device)
        self.optimizer = torch.optim.SGD([{"params": self.model.net.parameters()},
                                          {"params": self.model.classifier.parameters()}],
                                         lr=self.args.lr, momentum=self.args.momentum,
                                         weight_decay=self.args.weight_decay)
        self.scheduler = EpochCounter()
        self._start = TrainingStart.of(self.optimizer, self.scheduler)

    def _run_args(self, batch_size: Optional[int]):
        """``main.args`` with our class count, batch size and loader processes (the rest: main.py's defaults)."""
        args = copy.copy(self.main.args)
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
                raise BaselineError(f"`baseline.options.batchSize`: expected a positive integer, got {batch_size!r}")
            args.batch_size = batch_size
        if args.batch_size > len(self.data.train):
            given = "" if batch_size is not None else " (main.py's --batch_size; set `baseline.options.batchSize`)"
            raise BaselineError(f"`baseline.options.batchSize`: {args.batch_size} images per batch{given}, but the "
                                f"training split has only {len(self.data.train)}: an epoch would have no batch")
        args.num_class = self.data.num_classes
        args.workers = self.num_workers
        args.cuda = self.device.type == "cuda"
        return args

    def _check_image_size(self) -> None:
        from PIL import Image

        path = self.data.train.paths[0]
        with Image.open(path) as image:
            width, height = image.size
        if (height, width) != INPUT_PX:
            raise BaselineError(f"{NAME}: {path} is {height} x {width} px; sphere20 takes aligned faces of "
                                f"{INPUT_PX[0]} x {INPUT_PX[1]} (height x width), as the repository's "
                                "CASIA-WebFace-112X96, and its ImageList does not resize")

    def make_model(self) -> MuggleWangModel:
        """sphere20, ``main()``'s evaluation twin (drawn, not kept), then the classifier with ``m = 0``,
        in ``main()``'s order (on the CPU; torch's global RNG)."""
        net = self.code["net"].sphere(type=20, is_gray=self.args.is_gray)
        self.code["net"].sphere(type=20, is_gray=self.args.is_gray)
        classifier = self.code["layer"].MarginCosineProduct(EMBEDDING_DIM, self.args.num_class, m=0.0)
        return MuggleWangModel(net, classifier)

    def train_loader(self) -> DataLoader:
        """``main()``'s loader over ``train_set`` (shuffle from torch's global generator)."""
        return DataLoader(self.train_set, batch_size=self.args.batch_size, shuffle=True,
                          num_workers=self.args.workers, pin_memory=self.device.type == "cuda", drop_last=True)

    @contextlib.contextmanager
    def script(self):
        """``main.py``'s globals as ``train`` should see them for this recipe (see the module docstring)."""
        with mock.patch.multiple(self.main, args=self.args, device=self.device, print_with_time=_log_line):
            yield self.main

    def dataset_sizes(self) -> Dict[str, int]:
        return self.data.sizes()

    def initialize(self, seed: int) -> None:
        self._start.restore(seed, self.model, self.make_model, self.optimizer, self.scheduler)

    def train_epoch(self, task: TrainingTask, loss_fn: nn.Module) -> EpochStats:
        seed_global_rng(task.generator())
        loader = self.train_loader()
        progress = EpochProgress(task, len(loader))
        criterion = SearchedCriterion(loss_fn, float(self.model.classifier.s), progress)
        hook = self.optimizer.register_step_post_hook(progress.stepped)
        try:
            with self.script() as main:
                main.train(loader, self.model, self.model.classifier, criterion, self.optimizer,
                           self.scheduler.epoch + 1)
        finally:
            hook.remove()
        self.scheduler.epoch += 1
        return progress.stats()

    def softmax_branches(self, count: int) -> List[SoftmaxBranch]:
        train = FaceImageDataset(self.data.train.paths, self.data.train.labels, *INPUT_PX)
        items = [train[i] for i in range(min(count, len(train)))]
        x = face_eval_transform(torch.stack([pixels for pixels, _ in items])).to(self.device)
        y = torch.tensor([label for _, label in items], device=self.device)
        self.model.train()
        cosine, scale = self.model.branch(x, y)
        return [SoftmaxBranch(cosine, scale, y)]

    def extract(self, paths) -> torch.Tensor:
        """``extractDeepFeature``'s descriptors ``[N, 1024]``, ``concat(f(image), f(mirror))``, in batches."""
        self.model.eval()
        loader = DataLoader(FaceImageDataset(paths, None, *INPUT_PX), batch_size=self.eval_batch_size,
                            num_workers=self.num_workers)
        return torch.cat([features.cpu() for features in face_descriptors(self.model, loader, self.device, True)])

    def evaluate(self, split: str) -> Dict[str, float]:
        """As the built-in ``cosface`` (:meth:`amlfs.baselines.face_recipe.FaceRecipe.evaluate`) with flip test."""
        return verification_metrics(self.data, split, self.extract, True)

    def remove_scratch(self) -> None:
        self._cleanup()


def _log_line(text: str) -> None:
    """``main.print_with_time`` while ``train`` runs: its progress lines go to our log."""
    log.info("%s", text)


def build(experiment: Mapping[str, Any], device: torch.device, checkout: Checkout,
          options: Mapping[str, Any]) -> MuggleWangCosFaceRecipe:
    for name in ("p", "k", "pretrainedPath"):
        if options.get(name) is not None:
            raise BaselineError(f"`baseline.options.{name}`: adapter {NAME} does not use it (main.py trains sphere20 "
                                f"from scratch on shuffled batches of `batchSize` images), got {options[name]!r}")
    data = load_face_dataset(experiment["dataset"])
    return MuggleWangCosFaceRecipe(checkout, data, options, device, experiment.get("seed", 0))
