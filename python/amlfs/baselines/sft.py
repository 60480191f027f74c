"""``sft``: Spectral Feature Transformation (Luo et al., "Spectral Feature Transformation for Person
Re-identification", ICCV 2019), with its AM-softmax branch searched.

Model: ResNet-50 with last stride 1 (output stride 16), GAP, then FC(2048 -> 512) - BN -
PReLU - L2 normalization: the embedding ``x`` (unit rows). During training only, the SFT
layer mixes the embeddings of the batch through their affinity (our reading of the paper's
Eq. for the transformation; ``T = 0.1``)::

    A = softmax_rows(X X^T / T)       # [N, N], X the [N, 512] unit embeddings of the batch
    X' = A X                          # [N, 512], each row a soft average over the batch

so that each sample moves towards the samples the graph ties it to (mostly its own
identity in a P x K batch). Gradients flow through ``A`` as well. The AM-softmax branch then
takes ``cos_j`` between ``X'_i / ||X'_i||`` and ``W_j / ||W_j||`` with a fixed ``s = 15``;
AM-LFS replaces exactly this branch: ``loss = SearchedSoftmaxLoss(cos, y, 15)``. The paper's
own loss, ``t(x) = x - 0.3`` with ``tau`` the identity, is the search-space point
``cosineMargin(0.3)`` (the shipped configs start the search there). At test time the SFT
layer is off: features are the unit embeddings, flip-averaged (``flipTest``), Euclidean.

Recipe: SGD (momentum 0.9, weight decay 5e-4) with base lr 0.1 and a linear warmup, P = 16
identities x K = 8 images, as the paper. Values we could not check in the paper are our
choice and are options: images resized to 256 x 128, flipped, zero-padded by 10 px and
randomly cropped back; warmup from 0.01 over 10 epochs, then times 0.1 at epochs 40 and 70
of a 100-epoch run. As in ``spherereid``, the schedule is in epochs of the
``recipeEpochs``-long run and stretched to ``search.epochs``: an epoch count ``e`` becomes
``round_half_up(e * search.epochs / recipeEpochs)``.

ImageNet weights: ``pretrainedPath`` (a local torchvision ResNet-50 ``.pth``), as ``spherereid``.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

import torch

from ..models.sft_net import SftNet, SpectralFeatureTransform, spectral_feature_transform
from .options import one_of, positive_int, positive_number
from .registry import register_baseline
from .reid_common import (REID_DATASETS, config_from_options, image_options, reid_options, reid_setup,
                          schedule_options, sgd_options)
from .reid_recipe import ReidRecipe

__all__ = ["OPTIONS", "RECIPE_EPOCHS", "SftNet", "SpectralFeatureTransform", "build_sft", "config_from_options",
           "spectral_feature_transform"]

log = logging.getLogger("amlfs.baselines.sft")

RECIPE_EPOCHS = 100

OPTIONS = reid_options(
    k=8,
    images=image_options(size_px=(256, 128), crop_px=(256, 128), padding_px=10),
    optimizer=sgd_options(lr=0.1, weight_decay=5e-4),
    schedule=schedule_options(RECIPE_EPOCHS, warmup_epochs=10, warmup_start_lr=0.01, milestone_epochs=(40, 70)),
    network={"scale": positive_number(15.0), "temperature": positive_number(0.1), "embeddingDim": positive_int(512),
             "lastStride": one_of(1, (1, 2))},
)


@register_baseline("sft", datasets=REID_DATASETS, recipe=ReidRecipe, options=OPTIONS)
def build_sft(experiment: Mapping[str, Any], device: torch.device) -> ReidRecipe:
    setup = reid_setup("sft", experiment, OPTIONS, log)
    options = setup.options

    def make_model(num_classes: int) -> SftNet:
        return setup.with_backbone(SftNet(num_classes, options["embeddingDim"], float(options["scale"]),
                                          float(options["temperature"]), options["lastStride"]))

    return ReidRecipe(setup.data, make_model, setup.config, device, experiment.get("seed", 0))
