"""``cosface``: the 20-layer face network of SphereFace / CosFace on CASIA-WebFace (the paper's Table 3),
with the margin softmax replaced by the searched loss, or a fixed head for the comparison rows.

Model: :class:`amlfs.models.SphereFaceNet` (112 x 96 aligned faces, four stages of 1-2-4-1
residual units with PReLU, a 512-d embedding) and a head on it (``head``):

- ``searched`` (default): normalized features and weights, ``s = 30``, the searched loss
  (AM-LFS). Its ``theta = cosineMargin(0.40)`` is exactly CosFace; start there with
  ``search.init: {"kind": "cosineMargin", "margin": 0.4}``;
- ``softmax``, ``sphereface`` (A-softmax, m = 4, annealed), ``cosface`` (s = 30, m = 0.40),
  ``arcface`` (s = 64, m = 0.5 rad): fixed losses (``search.mode: "baseline"``), options
  in ``headOptions`` (see :mod:`amlfs.heads`).

Recipe (CosFace, Wang et al. CVPR 2018, Sec. 4.1): SGD, lr 0.1, momentum 0.9, weight decay
5e-4, batch 512, the learning rate divided by 10 at 16k, 24k and 28k of 30k iterations,
random horizontal flip, ``(x/255 - 0.5)/0.5``. The milestones are placed at the same fractions
of this run's iterations (``search.epochs`` x iterations per epoch): ``round_half_up(m / recipeIterations
x total)``. Evaluation: ``concat(f(image), f(flip))``, cosine similarity, the LFW 10-fold
protocol on the test split; the reward is the same protocol on pairs of held-out training identities.

Data: ``dataset.root`` holds ``CASIA-WebFace/`` (identity folders), ``lfw/`` and ``pairs.txt``
(:func:`amlfs.data.face.find_face_roots`); ``lfwRoot`` and ``pairsTxt`` point elsewhere.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import torch

from ..checkpoint import load_model_state
from ..data.face import load_face_dataset
from ..data.face.validation import DEFAULT_PAIRS_PER_FOLD
from ..data.rng import round_half_up
from ..heads import HeadError, build_head, head_names
from ..models import SphereFaceNet
from ..models.face_net import FaceNet
from .errors import BaselineError
from .face_recipe import FaceConfig, FaceRecipe
from .options import (boolean, fraction, int_list, mapping, non_negative_int, non_negative_number, one_of,
                      parse_options, path_or_null, positive_int, positive_number)
from .registry import register_baseline

RECIPE_ITERATIONS = 30_000

OPTIONS = {
    "head": one_of("searched", tuple(head_names())),
    "headOptions": mapping({}),
    "batchSize": positive_int(512),
    "lr": positive_number(0.1),
    "momentum": fraction(0.9),
    "weightDecay": non_negative_number(5e-4),
    "recipeIterations": positive_int(RECIPE_ITERATIONS),
    "milestoneIterations": int_list((16_000, 24_000, 28_000)),
    "gamma": positive_number(0.1),
    "embeddingDim": positive_int(512),
    "heightPx": positive_int(112),
    "widthPx": positive_int(96),
    "flipTest": boolean(True),
    "valPairsPerFold": positive_int(DEFAULT_PAIRS_PER_FOLD),
    "lfwRoot": path_or_null(),
    "pairsTxt": path_or_null(),
    "checkCounts": boolean(False),
    "evalBatchSize": positive_int(256),
    "numWorkers": non_negative_int(4),
}


def milestone_iterations(options: Mapping[str, Any], total_iterations: int) -> tuple:
    """The recipe's iteration milestones at the same fractions of ``total_iterations``."""
    recipe = options["recipeIterations"]
    late = [m for m in options["milestoneIterations"] if m > recipe]
    if late:
        raise BaselineError(f"`baseline.options.milestoneIterations`: {late[0]} is past recipeIterations ({recipe})")
    return tuple(max(1, round_half_up(m * total_iterations / recipe)) for m in options["milestoneIterations"])


def check_head_mode(head: str, mode: Optional[str]) -> None:
    if head != "searched" and mode != "baseline":
        raise BaselineError(f"`baseline.options.head`: the fixed head {head!r} ignores the sampled losses; "
                            f"use `search.mode: \"baseline\"` (got {mode!r}), or head \"searched\"")


def make_face_net(options: Mapping[str, Any], num_classes: int, num_intervals: int = 6) -> FaceNet:
    """The network and head of parsed ``options`` for ``num_classes`` training identities."""
    head_options = dict(options["headOptions"])
    if options["head"] == "searched":
        head_options.setdefault("numIntervals", num_intervals)
    trunk = SphereFaceNet(options["embeddingDim"], (options["heightPx"], options["widthPx"]))
    try:
        head = build_head(options["head"], options["embeddingDim"], num_classes, head_options)
    except HeadError as error:
        raise BaselineError(str(error).replace("`head.options", "`baseline.options.headOptions")) from error
    return FaceNet(trunk, head)


def trained_face_net(experiment: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> FaceNet:
    """The ``cosface`` network of ``experiment`` with the trained weights ``tensors`` (a ``state_dict``,
    e.g. :func:`amlfs.checkpoint.model_tensors` of a run's ``final/model.safetensors``); eval mode."""
    if experiment["baseline"]["name"] != "cosface":
        raise BaselineError(f"`baseline.name`: expected \"cosface\", got {experiment['baseline']['name']!r}")
    options = parse_options("cosface", experiment["baseline"].get("options", {}), OPTIONS)
    weight = tensors.get("head.weight")
    if weight is None or weight.dim() != 2:
        raise BaselineError("the checkpoint has no `head.weight` [C, D]: not a cosface model")
    model = make_face_net(options, int(weight.shape[0]), experiment["search"].get("M", 6))
    load_model_state(model, dict(tensors))
    return model.eval()


@register_baseline("cosface", datasets=("casia-webface",), recipe=FaceRecipe, options=OPTIONS)
def build_cosface(experiment: Mapping[str, Any], device: torch.device) -> FaceRecipe:
    options = parse_options("cosface", experiment["baseline"].get("options", {}), OPTIONS)
    search = experiment["search"]
    check_head_mode(options["head"], search.get("mode", "amlfs"))
    data = load_face_dataset(experiment["dataset"], options["lfwRoot"], options["pairsTxt"], options["checkCounts"],
                             pairs_per_fold=options["valPairsPerFold"])
    input_px = (options["heightPx"], options["widthPx"])
    steps_per_epoch = len(data.train) // options["batchSize"]
    config = FaceConfig(
        epochs=search["epochs"],
        batch_size=options["batchSize"],
        lr=float(options["lr"]),
        momentum=float(options["momentum"]),
        weight_decay=float(options["weightDecay"]),
        milestones=milestone_iterations(options, search["epochs"] * max(steps_per_epoch, 1)),
        gamma=float(options["gamma"]),
        input_px=input_px,
        flip_test=options["flipTest"],
        eval_batch_size=options["evalBatchSize"],
        num_workers=options["numWorkers"],
    )
    return FaceRecipe(data, lambda num_classes: make_face_net(options, num_classes, search.get("M", 6)), config,
                      device, experiment.get("seed", 0))
