"""``spherereid``: SphereReID (Fan et al., "SphereReID: Deep Hypersphere Manifold Embedding for Person
Re-Identification", JVCIR 2019; arXiv 1807.00537), network D, with its sphere softmax searched.

Model: ResNet-50 with last stride 1, then GAP - BN - Dropout(0.5) - FC(2048 -> 1024) - BN:
the embedding ``x``. Sphere softmax: ``cos_j`` between ``x / ||x||`` and ``W_j / ||W_j||`` (no
bias), logits ``s * cos_j`` with a fixed ``s = 14``. AM-LFS replaces exactly this branch:
``loss = SearchedSoftmaxLoss(cos, y, s)``, so the identity ``theta`` is the paper's loss.
Evaluation features: the L2-normalized embedding, averaged with that of the mirrored image
and re-normalized (``flipTest``); Euclidean distances.

Recipe (paper, Sec. 4): images resized to 288 x 144, randomly cropped to 256 x 128, random
horizontal flip; P = 16 identities x K = 4 images; Adam (beta1 0.9, beta2 0.99 as the paper
states), lr 1e-3, warmed up linearly from 5e-5 over 20 epochs, times 0.1 at epoch 80 and
again at epoch 100, 140 epochs. The schedule is given in epochs of that 140-epoch run
(``recipeEpochs``) and stretched to ``search.epochs``: an epoch count ``e`` becomes
``round_half_up(e * search.epochs / 140)``, so ``epochs: 140`` reproduces it exactly.
Testing uses the resized 288 x 144 image, uncropped (our reading of the paper's test-size
study; ``testHeightPx``/``testWidthPx`` change it). No random erasing (``erasingP`` adds it).

ImageNet weights: ``pretrainedPath`` (a local torchvision ResNet-50 ``.pth``); without it
the backbone trains from scratch, which is logged as a warning.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

import torch

from ..models.spherereid_net import SphereReIDNet
from .options import fraction, non_negative_number, one_of, positive_int, positive_number
from .registry import register_baseline
from .reid_common import (REID_DATASETS, config_from_options, image_options, reid_options, reid_setup,
                          schedule_options)
from .reid_recipe import ReidRecipe

__all__ = ["OPTIONS", "RECIPE_EPOCHS", "SphereReIDNet", "build_spherereid", "config_from_options"]

log = logging.getLogger("amlfs.baselines.spherereid")

RECIPE_EPOCHS = 140

OPTIONS = reid_options(
    k=4,
    images=image_options(size_px=(288, 144), crop_px=(256, 128)),
    optimizer={"lr": positive_number(1e-3), "beta2": fraction(0.99), "weightDecay": non_negative_number(0.0)},
    schedule=schedule_options(RECIPE_EPOCHS, warmup_epochs=20, warmup_start_lr=5e-5, milestone_epochs=(80, 100)),
    network={"scale": positive_number(14.0), "embeddingDim": positive_int(1024), "dropout": fraction(0.5),
             "lastStride": one_of(1, (1, 2))},
)


@register_baseline("spherereid", datasets=REID_DATASETS, recipe=ReidRecipe, options=OPTIONS)
def build_spherereid(experiment: Mapping[str, Any], device: torch.device) -> ReidRecipe:
    setup = reid_setup("spherereid", experiment, OPTIONS, log)
    options = setup.options

    def make_model(num_classes: int) -> SphereReIDNet:
        return setup.with_backbone(SphereReIDNet(num_classes, options["embeddingDim"], float(options["scale"]),
                                                 float(options["dropout"]), options["lastStride"]))

    return ReidRecipe(setup.data, make_model, setup.config, device, experiment.get("seed", 0))
