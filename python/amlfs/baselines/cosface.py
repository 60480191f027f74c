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

Recipe presets (``recipe``; every value and its source in ``docs/baselines.md``): ``upstream``
(default), MuggleWang/CosFace_pytorch@81de0a9 ``main.py``: SGD, lr 0.1, momentum 0.9, weight decay
5e-4, batch 512, random horizontal flip, ``(x/255 - 0.5)/0.5``, the learning rate divided by 10
when the global iteration reaches 16k and 24k (``milestoneScaling: "absolute"``). ``paper``
(CosFace, Wang et al. CVPR 2018, Sec. 4.1): divided at 16k, 24k and 28k of 30k iterations, placed
at the same fractions of this run's iterations (``search.epochs`` x iterations per epoch):
``round_half_up(m / recipeIterations x total)``. The network is initialised as the SphereFace
Caffe model (:class:`amlfs.models.SphereFaceNet`); MuggleWang's ``net.py`` uses torch's
``xavier_uniform_`` for the same layers, the one difference between the two at the start. Evaluation: ``concat(f(image), f(flip))``, cosine similarity, the LFW 10-fold
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
from .options import (Presets, boolean, fraction, int_list, mapping, non_negative_int, non_negative_number, one_of,
                      parse_options, path_or_null, positive_int, positive_number, sourced)
from .registry import register_baseline

RECIPE_ITERATIONS = 30_000
MILESTONE_SCALINGS = ("absolute", "stretched")

MW = "MuggleWang/CosFace_pytorch@81de0a9 "
PAPER = "CosFace paper (Wang et al., CVPR 2018) Sec. 4.1"
_OURS_EVAL = "ours: evaluation batch size and loader processes (do not change the result)"

OPTIONS = {
    "head": sourced(one_of("searched", tuple(head_names())), "ours: the searched head; the fixed heads are the "
                    "comparison rows (softmax, SphereFace, CosFace, ArcFace: amlfs.heads, each with its paper)"),
    "headOptions": sourced(mapping({}), "ours: options of the fixed heads (their values cite their papers)"),
    "batchSize": sourced(positive_int(512), MW + "main.py:32 --batch_size default 512"),
    "lr": sourced(positive_number(0.1), MW + "main.py:47 --lr default 0.1"),
    "momentum": sourced(fraction(0.9), MW + "main.py:51 --momentum default 0.9"),
    "weightDecay": sourced(non_negative_number(5e-4), MW + "main.py:53 --weight_decay default 5e-4"),
    "recipeIterations": sourced(positive_int(RECIPE_ITERATIONS), PAPER + ": training ends at 30k iterations (used "
                                "with milestoneScaling \"stretched\")"),
    "milestoneIterations": sourced(int_list((16_000, 24_000)), MW + "main.py:71 step_size = [16000, 24000] (WebFace)"),
    "milestoneScaling": sourced(one_of("absolute", MILESTONE_SCALINGS), MW + "main.py:193-196 adjust_learning_rate: "
                                "the LR drops when the global iteration reaches a step, whatever the run's length"),
    "gamma": sourced(positive_number(0.1), MW + "main.py:196 lr * 0.1 ** (index + 1)"),
    "embeddingDim": sourced(positive_int(512), MW + "net.py:37 Linear(512 * 7 * 6, 512)"),
    "heightPx": sourced(positive_int(112), MW + "main.py:69 CASIA-WebFace-112X96 (aligned 112 x 96)"),
    "widthPx": sourced(positive_int(96), MW + "main.py:69 CASIA-WebFace-112X96 (aligned 112 x 96)"),
    "flipTest": sourced(boolean(True), MW + "lfw_eval.py:29 extractDeepFeature: concat(f(image), f(mirror))"),
    "valPairsPerFold": sourced(positive_int(DEFAULT_PAIRS_PER_FOLD), "ours: validation pairs per fold, as LFW's "
                               "View 2 (300 positive + 300 negative)"),
    "lfwRoot": sourced(path_or_null(), "ours: LFW outside dataset.root (null: under it)"),
    "pairsTxt": sourced(path_or_null(), "ours: pairs.txt outside dataset.root (null: under it)"),
    "checkCounts": sourced(boolean(False), "ours: check the official 10,575 ids / 494,414 images (aligned "
                           "releases differ; main.py:70 uses 10,572)"),
    "evalBatchSize": sourced(positive_int(256), _OURS_EVAL),
    "numWorkers": sourced(non_negative_int(4), MW + "main.py:62 --workers default 4"),
}

PRESETS = Presets(
    default="upstream",
    overrides={"paper": {"milestoneIterations": [16_000, 24_000, 28_000], "milestoneScaling": "stretched"}},
    sources={"paper": {
        "milestoneIterations": PAPER + ": the LR divided by 10 at 16k, 24k and 28k iterations",
        "milestoneScaling": PAPER + ": 30k iterations; placed at the same fractions of this run's iterations",
    }},
)
OPTIONS = {"recipe": sourced(PRESETS.option(), "upstream: " + MW.strip() + "; paper: " + PAPER), **OPTIONS}


def milestone_iterations(options: Mapping[str, Any], total_iterations: int) -> tuple:
    """The scheduler's milestones (steps completed before the LR drops) of the recipe's iteration milestones.

    ``absolute`` (MuggleWang's ``adjust_learning_rate``): the LR drops before iteration ``m``
    (1-based), so the ``m``-th step runs at the new rate: milestone ``m - 1``. ``stretched``: at the
    same fractions of ``total_iterations`` as of ``recipeIterations``."""
    if options["milestoneScaling"] == "absolute":
        return tuple(max(0, m - 1) for m in options["milestoneIterations"])
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
    options = parse_options("cosface", experiment["baseline"].get("options", {}), OPTIONS, PRESETS)
    weight = tensors.get("head.weight")
    if weight is None or weight.dim() != 2:
        raise BaselineError("the checkpoint has no `head.weight` [C, D]: not a cosface model")
    model = make_face_net(options, int(weight.shape[0]), experiment["search"].get("M", 6))
    load_model_state(model, dict(tensors))
    return model.eval()



#: Where this port still differs from the authors' code or the paper (rendered into docs/baselines.md).
DIFFERENCES = (
    "The network is initialised as the SphereFace Caffe model (xavier on the stride-2 convolutions, the FC and the head); MuggleWang's net.py uses torch's xavier_uniform_ there. One training step from the same weights is equal (test_mugglewang.py).",
)

@register_baseline("cosface", datasets=("casia-webface",), recipe=FaceRecipe, options=OPTIONS, presets=PRESETS)
def build_cosface(experiment: Mapping[str, Any], device: torch.device) -> FaceRecipe:
    options = parse_options("cosface", experiment["baseline"].get("options", {}), OPTIONS, PRESETS)
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
