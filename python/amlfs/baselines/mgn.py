"""``mgn``: the Multiple Granularity Network (Wang et al., "Learning Discriminative Features with Multiple
Granularities for Person Re-Identification", ACM MM 2018), with its 8 softmax heads searched.

Model: :class:`amlfs.models.mgn_net.MgnNet` (shared ResNet-50 trunk, global / part-2 / part-3
branches, 8 reduced 256-d features, 8 bias-free linear heads). A plain linear head is a
softmax branch with ``cos_j = f_j / (||x|| ||W_j||)`` and ``s_j = ||x|| ||W_j||``
(:func:`amlfs.baselines.cosine_and_scale`), so the identity ``theta`` gives back its
cross-entropy exactly. Loss::

    L = mean_{h=1..8} SearchedSoftmaxLoss(cos_h, y, s_h)            # one theta for all 8 heads
      + tripletWeight * mean_{g=1..3} batch_hard_triplet(f_g, y, 1.2)  # the global 256-d features

The triplet losses are kept unchanged. The paper adds up the losses; we average each
group (a constant factor per group, which keeps the searched part on the scale of one
softmax loss as in the other baselines). Evaluation: the L2-normalized concatenation of the
8 reduced features (``[N, 2048]``), flip-averaged (``flipTest``), Euclidean distances.

Recipe (paper, Sec. 4.1): images resized to 384 x 128, random horizontal flip only; SGD
with momentum 0.9, weight decay 5e-4, lr 1e-2, times 0.1 at epochs 40 and 60, 80 epochs.
``optimizer: "adam"`` gives Adam instead (the public reference implementation's choice,
with ``lr: 2e-4``). P x K = 16 x 4 by default (``p``/``k``). The schedule is stretched to
``search.epochs`` as in ``spherereid``: ``e`` becomes ``round_half_up(e * search.epochs / recipeEpochs)``.

ImageNet weights: ``pretrainedPath`` (a local torchvision ResNet-50 ``.pth``), loaded into the
trunk before the branches are copied from it.
"""
from __future__ import annotations

import logging
from typing import Any, List, Mapping

import torch
from torch import nn

from ..loss.linear_head import cosine_and_scale
from ..models.mgn_net import MgnNet, MgnOutputs
from .errors import BaselineError
from .options import non_negative_number, positive_int, positive_number
from .recipe import EpochStats, SoftmaxBranch
from .registry import register_baseline
from .reid_common import (REID_DATASETS, config_from_options, image_options, reid_options, reid_setup,
                          schedule_options, sgd_options)
from .reid_recipe import ReidRecipe

__all__ = ["OPTIONS", "RECIPE_EPOCHS", "MgnLoss", "MgnRecipe", "batch_hard_triplet_loss", "build_mgn",
           "config_from_options"]

log = logging.getLogger("amlfs.baselines.mgn")

RECIPE_EPOCHS = 80
NUM_GLOBAL = 3

OPTIONS = reid_options(
    k=4,
    images=image_options(size_px=(384, 128), crop_px=None, test_size=False),
    optimizer=sgd_options(lr=1e-2, weight_decay=5e-4),
    schedule=schedule_options(RECIPE_EPOCHS, warmup_epochs=0, warmup_start_lr=1e-3, milestone_epochs=(40, 60)),
    network={"reducedDim": positive_int(256), "tripletMargin": positive_number(1.2),
             "tripletWeight": non_negative_number(1.0)},
)


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
        heads = [cosine_and_scale(f, w) for f, w in zip(outputs.features, outputs.weights)]
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
        return [SoftmaxBranch(*cosine_and_scale(f, w), y) for f, w in zip(outputs.features, outputs.weights)]


@register_baseline("mgn", datasets=REID_DATASETS, recipe=MgnRecipe, options=OPTIONS)
def build_mgn(experiment: Mapping[str, Any], device: torch.device) -> ReidRecipe:
    setup = reid_setup("mgn", experiment, OPTIONS, log)
    options = setup.options

    def make_model(num_classes: int) -> MgnNet:
        return MgnNet(num_classes, options["reducedDim"], setup.backbone, where=str(options["pretrainedPath"]))

    return MgnRecipe(setup.data, make_model, setup.config, device, experiment.get("seed", 0),
                     triplet_margin=float(options["tripletMargin"]), triplet_weight=float(options["tripletWeight"]))
