"""``mgn``: the Multiple Granularity Network (Wang et al., "Learning Discriminative Features with Multiple
Granularities for Person Re-Identification", ACM MM 2018), with its 8 softmax heads searched.

Model: :class:`amlfs.models.mgn_net.MgnNet` (shared ResNet-50 trunk, global / part-2 / part-3
branches, 8 reduced 256-d features, 8 linear heads). A plain linear head is a softmax branch
with ``cos_j = f_j / (||x|| ||W_j||)`` and ``s_j = ||x|| ||W_j||`` (a bias folded in as one more
feature; :func:`amlfs.loss.cosine_and_scale`), so the identity ``theta`` gives back its
cross-entropy exactly. Loss::

    L = mean_{h=1..8} SearchedSoftmaxLoss(cos_h, y, s_h)            # one theta for all 8 heads
      + tripletWeight * mean_{g=1..3} batch_hard_triplet(f_g, y, 1.2)  # the global 256-d features

The triplet losses are kept unchanged. Evaluation: the L2-normalized concatenation of the 8
reduced features (``[N, 2048]``), flip-averaged (``flipTest``), Euclidean distances.

Recipe presets (``recipe``; every value and its source in ``docs/baselines.md``):

- ``upstream`` (default), seathiefwang/MGN-pytorch@384e820 (``option.py`` and the best run of
  ``demo.sh``): 384 x 128 images, flip, random erasing (p 0.5, zero after normalization);
  P = 16 x K = 4 with an epoch of one pass over the identities; Adam with amsgrad (lr 2e-4,
  weight decay 5e-4), times 0.1 at epochs 320 and 380 of 400; average pooling, heads with a
  bias; ``1 * mean CE + 2 * mean triplet`` (``loss/__init__.py``). The repository steps its
  ``MultiStepLR`` at the start of each epoch, so its LR falls one epoch earlier (in the 320th).
- ``paper`` (Sec. 3, 4.1): flip only; SGD with momentum 0.9, weight decay 5e-4, lr 1e-2, times
  0.1 at epochs 40 and 60 of 80; max pooling, bias-free heads; the triplet mean weighted 1 (the
  paper adds up the losses; we average each group, a constant factor per group that keeps the
  searched part on the scale of one softmax loss as in the other baselines).

The schedule is stretched to ``search.epochs`` as in ``spherereid``: an epoch count ``e`` becomes
``round_half_up(e * search.epochs / recipeEpochs)``.

ImageNet weights: ``pretrainedPath`` (a local torchvision ResNet-50 ``.pth``), loaded into the
trunk before the branches are copied from it.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, List, Mapping

import torch
from torch import nn

from ..loss.linear_head import cosine_and_scale
from ..models.mgn_net import POOLS, MgnNet, MgnOutputs
from .errors import BaselineError
from .options import Presets, boolean, non_negative_number, one_of, positive_int, positive_number, sourced
from .recipe import EpochStats, SoftmaxBranch
from .registry import register_baseline
from .reid_common import (REID_DATASETS, config_from_options, image_options, reid_options, reid_setup,
                          schedule_options, sgd_options, sourced_options)
from .reid_recipe import ReidRecipe

__all__ = ["OPTIONS", "PRESETS", "RECIPE_EPOCHS", "MgnLoss", "MgnRecipe", "batch_hard_triplet_loss", "build_mgn",
           "config_from_options"]

log = logging.getLogger("amlfs.baselines.mgn")

RECIPE_EPOCHS = 400
NUM_GLOBAL = 3
SW = "seathiefwang/MGN-pytorch@384e820 "
DEMO = SW + "demo.sh:50 (its best run)"
PAPER = "MGN paper (ACM MM 2018, arXiv 1804.01438)"

OPTIONS = sourced_options(reid_options(
    k=4,
    images=image_options(size_px=(384, 128), crop_px=None, test_size=False, erasing_p=0.5,
                         erasing_fill="normalizedZero"),
    optimizer={**sgd_options(lr=2e-4, weight_decay=5e-4), "optimizer": one_of("adam", ("sgd", "adam")),
               "amsgrad": boolean(True)},
    schedule=schedule_options(RECIPE_EPOCHS, warmup_epochs=0, warmup_start_lr=1e-3, milestone_epochs=(320, 380)),
    network={"reducedDim": positive_int(256), "pool": one_of("avg", tuple(POOLS)), "headBias": boolean(True),
             "tripletMargin": positive_number(1.2), "tripletWeight": non_negative_number(2.0)},
    epoch_batches="identities",
), {
    "p": SW + "option.py:16 --batchid 16 (demo.sh:50 --batchid 16 too)",
    "k": SW + "option.py:17 --batchimage 4",
    "epochBatches": SW + "data/sampler.py:27-28 len = identities x batch_image (one pass over the identities)",
    "heightPx": SW + "option.py:27 --height 384; data/__init__.py:11 Resize((height, width))",
    "widthPx": SW + "option.py:28 --width 128; data/__init__.py:11 Resize((height, width))",
    "cropHeightPx": SW + "data/__init__.py:10-15 (no crop)",
    "cropWidthPx": SW + "data/__init__.py:10-15 (no crop)",
    "paddingPx": SW + "data/__init__.py:10-15 (no padding)",
    "erasingP": DEMO + " --random_erasing; option.py:49 --probability 0.5; data/__init__.py:17",
    "erasingFill": SW + "data/__init__.py:17 RandomErasing(mean=[0.0, 0.0, 0.0]) after Normalize",
    "optimizer": DEMO + " --optimizer ADAM (option.py:33 default ADAM)",
    "lr": DEMO + " --lr 2e-4 (option.py:32 default 2e-4)",
    "momentum": SW + "option.py:34 --momentum 0.9 (SGD only)",
    "weightDecay": SW + "option.py:42 --weight_decay 5e-4; utils/utility.py:131",
    "amsgrad": DEMO + " --amsgrad; utils/utility.py:113 Adam(amsgrad=args.amsgrad)",
    "recipeEpochs": DEMO + " --epochs 400",
    "warmupEpochs": SW + "utils/utility.py:135-152 make_scheduler (no warmup)",
    "warmupStartLr": "ours: unused without warmup",
    "warmupForm": "ours: unused without warmup",
    "milestoneEpochs": DEMO + " --decay_type step_320_380; utils/utility.py:146 MultiStepLR",
    "gamma": SW + "option.py:41 --gamma 0.1",
    "reducedDim": SW + "option.py:26 --feats 256; model/mgn.py:56 reduction Conv2d(2048, feats, 1)",
    "pool": SW + "option.py:25 --pool avg; model/mgn.py:43-54",
    "headBias": SW + "model/mgn.py:69-77 nn.Linear(feats, num_classes) (a bias, initialized to 0 at :103)",
    "tripletMargin": DEMO + " --margin 1.2; loss/__init__.py:28 TripletLoss(args.margin)",
    "tripletWeight": DEMO + " --loss 1*CrossEntropy+2*Triplet; loss/__init__.py:58-69 the mean of each group",
    "pretrainedPath": "ours: " + SW + "model/mgn.py:17 resnet50(pretrained=True) downloads torchvision's "
                                      "ImageNet ResNet-50; give it as a local file",
    "flipTest": SW + "trainer.py:104-117 extract_feature: the image's and its mirror's features summed, normalized",
    "testDistance": SW + "trainer.py:76 cdist (Euclidean) without --re_rank",
    "evalBatchSize": "ours: evaluation batch size (does not change the result)",
    "numWorkers": "ours: data loader processes (option.py:5 --nThread 2)",
    "strict": "ours: check the data set's official counts (false for fixtures)",
})

PRESETS = Presets(
    default="upstream",
    overrides={"paper": {"optimizer": "sgd", "lr": 1e-2, "amsgrad": False, "recipeEpochs": 80,
                         "milestoneEpochs": [40, 60], "erasingP": 0.0, "epochBatches": "images", "pool": "max",
                         "headBias": False, "tripletWeight": 1.0}},
    sources={"paper": {
        "optimizer": PAPER + " Sec. 4.1: SGD with momentum 0.9",
        "lr": PAPER + " Sec. 4.1: initial learning rate 1e-2",
        "amsgrad": PAPER + " Sec. 4.1: SGD (no Adam)",
        "recipeEpochs": PAPER + " Sec. 4.1: 80 epochs",
        "milestoneEpochs": PAPER + " Sec. 4.1: 1e-3 after 40 epochs, 1e-4 after 60",
        "erasingP": PAPER + " Sec. 4.1: random horizontal flipping only",
        "epochBatches": "ours: the paper does not define an epoch of P x K batches; one pass over the images",
        "pool": PAPER + " Sec. 3.1: global max-pooling of each branch and stripe",
        "headBias": PAPER + " Sec. 3.2: the softmax loss without a bias term",
        "tripletWeight": "ours: the paper adds up the losses (Sec. 3.2); we average each group, weighing both 1",
    }},
)
OPTIONS = {"recipe": sourced(PRESETS.option(), "upstream: " + SW + "option.py, " + DEMO + "; paper: " + PAPER),
           **OPTIONS}


def batch_hard_triplet_loss(features: torch.Tensor, target: torch.Tensor, margin: float) -> torch.Tensor:
    """Batch-hard triplet loss (Hermans et al. 2017): per anchor, the farthest positive and the nearest
    negative by Euclidean distance, ``mean(relu(d_ap - d_an + margin))``. ``features [N, D]``, ``target [N]``.

    An anchor without a negative in the batch contributes ``relu(d_ap + margin - inf) = 0``.
    """
    squared = (features.unsqueeze(1) - features.unsqueeze(0)).pow(2).sum(-1)
    distances = squared.clamp_min(1e-12).sqrt()  # the clamp keeps the gradient finite on the diagonal
    same = target.unsqueeze(1) == target.unsqueeze(0)
    hardest_positive = distances.masked_fill(~same, float("-inf")).amax(dim=1)
    hardest_negative = distances.masked_fill(same, float("inf")).amin(dim=1)
    return torch.relu(hardest_positive - hardest_negative + margin).mean()


class MgnLoss(nn.Module):
    """The MGN objective around a searched loss: ``mean`` of ``searched`` over the 8 heads (shared theta)
    plus ``triplet_weight`` times the mean batch-hard triplet loss of the 3 global features."""

    def __init__(self, searched: nn.Module, triplet_margin: float = 1.2, triplet_weight: float = 1.0):
        super().__init__()
        self.searched = searched
        self.triplet_margin = float(triplet_margin)
        self.triplet_weight = float(triplet_weight)

    def forward(self, outputs: MgnOutputs, target: torch.Tensor, _scale: Any = None) -> torch.Tensor:
        if not isinstance(outputs, MgnOutputs):
            raise BaselineError(f"MgnLoss: expected the MgnOutputs of MgnNet.branch, got {type(outputs).__name__}")
        heads = [cosine_and_scale(f, w, bias=b) for f, w, b in zip(outputs.features, outputs.weights, outputs.biases)]
        softmax = torch.stack([self.searched(cosine, target, scale) for cosine, scale in heads]).mean()
        triplet = torch.stack([batch_hard_triplet_loss(f, target, self.triplet_margin)
                               for f in outputs.features[:NUM_GLOBAL]]).mean()
        return softmax + self.triplet_weight * triplet


class MgnRecipe(ReidRecipe):
    """:class:`ReidRecipe` whose training loss is :class:`MgnLoss` around the searched loss."""

    def __init__(self, *args, triplet_margin: float = 1.2, triplet_weight: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.triplet_margin = triplet_margin
        self.triplet_weight = triplet_weight

    def train_epoch(self, task, loss_fn: nn.Module) -> EpochStats:
        return super().train_epoch(task, MgnLoss(loss_fn, self.triplet_margin, self.triplet_weight))

    def softmax_branches(self, count: int) -> List[SoftmaxBranch]:
        x, y = self.probe_batch(count)
        self.model.train()
        outputs = self.model.outputs(x)
        return [SoftmaxBranch(*cosine_and_scale(f, w, bias=b), y)
                for f, w, b in zip(outputs.features, outputs.weights, outputs.biases)]


def use_amsgrad(options: Mapping[str, Any], given: Mapping[str, Any]) -> bool:
    """``amsgrad`` for Adam; with SGD it is ignored when it is the preset's, an error when given."""
    if options["optimizer"] == "adam":
        return bool(options["amsgrad"])
    if given.get("amsgrad"):
        raise BaselineError("`baseline.options.amsgrad`: AMSGrad is a variant of Adam, but `optimizer` is \"sgd\"")
    return False



#: Where this port still differs from the authors' code or the paper (rendered into docs/baselines.md).
DIFFERENCES = (
    "seathiefwang's MultiStepLR steps at the start of each epoch, so its learning rate drops one epoch earlier (in epochs 320 and 380); ours drops after them.",
    'Their images are resized bicubic, ours bilinear; their reduction batch norms start with weights from N(1, 0.02), ours at 1.',
    'Their sampler keeps the last, smaller batch and samples identities with fewer than K images by repeating the list; ours drops it and samples with replacement.',
    'demo.sh evaluates after re-ranking; the test split reports plain and re-ranked (`*_rerank`) metrics side by side.',
    'No one-step parity test against the adapter yet (the spherereid and cosface ports have one).',
)

@register_baseline("mgn", datasets=REID_DATASETS, recipe=MgnRecipe, options=OPTIONS, presets=PRESETS)
def build_mgn(experiment: Mapping[str, Any], device: torch.device) -> ReidRecipe:
    setup = reid_setup("mgn", experiment, OPTIONS, log, PRESETS)
    options = setup.options

    def make_model(num_classes: int) -> MgnNet:
        return MgnNet(num_classes, options["reducedDim"], setup.backbone, where=str(options["pretrainedPath"]),
                      pool=options["pool"], head_bias=options["headBias"])

    config = replace(setup.config, amsgrad=use_amsgrad(options, experiment["baseline"].get("options", {})))
    return MgnRecipe(setup.data, make_model, config, device, experiment.get("seed", 0),
                     triplet_margin=float(options["tripletMargin"]), triplet_weight=float(options["tripletWeight"]))
