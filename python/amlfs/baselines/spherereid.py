"""``spherereid``: SphereReID (Fan et al., "SphereReID: Deep Hypersphere Manifold Embedding for Person
Re-Identification", JVCIR 2019; arXiv 1807.00537), network D, with its sphere softmax searched.

Model: ResNet-50 with last stride 1, then GAP - BN - Dropout(0.5) - FC(2048 -> 1024) - BN:
the embedding ``x``. Sphere softmax: ``cos_j`` between ``x / ||x||`` and ``W_j / ||W_j||`` (no
bias), logits ``s * cos_j`` with a fixed ``s = 14``. AM-LFS replaces exactly this branch:
``loss = SearchedSoftmaxLoss(cos, y, s)``, so the identity ``theta`` is the paper's loss.
Recipe presets (``recipe``; every value and its source in ``docs/baselines.md``):

- ``upstream`` (default), the authors' code, CoinCheung/SphereReID@e02c7b9: resize 288 x 144, random
  crop 256 x 128, flip, random erasing (p 0.5, zero after normalization); P = 16 x K = 4 with an
  epoch of ``len(identities) // 16`` batches; Adam (lr 1e-3, betas 0.9/0.999), warmed up
  geometrically from 1e-5 over 20 epochs, times 0.1 at epochs 90 and 130 of 150; the loss
  averaged over the hardest 80 % of each batch (``OhemSphereLoss``, ``ohemKeep``); test features
  the mean of the unit embeddings of the image and its mirror, ranked by their dot product
  (``testDistance: "dot"``).
- ``paper`` (Sec. 4.1): no erasing, Adam with beta2 0.99, a linear warmup from 5e-5 over 20
  epochs, times 0.1 at epochs 80 and 100 of 140, the plain batch mean, an epoch of one pass
  over the images (the paper does not define it), the flip mean re-normalized and ranked by
  Euclidean distance.

The schedule is given in epochs of the ``recipeEpochs`` run and stretched to ``search.epochs``:
an epoch count ``e`` becomes ``round_half_up(e * search.epochs / recipeEpochs)``, so
``epochs: 150`` (``140`` for ``paper``) reproduces it exactly. Testing uses the resized
288 x 144 image, uncropped.

ImageNet weights: ``pretrainedPath`` (a local torchvision ResNet-50 ``.pth``); without it
the backbone trains from scratch, which is logged as a warning.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

import torch

from ..models.spherereid_net import HEAD_INITS, SphereReIDNet
from .options import Presets, fraction, non_negative_number, one_of, positive_int, positive_number, sourced
from .registry import register_baseline
from .reid_common import (REID_DATASETS, config_from_options, image_options, reid_options, reid_setup,
                          schedule_options, sourced_options)
from .reid_recipe import ReidRecipe

__all__ = ["OPTIONS", "RECIPE_EPOCHS", "SphereReIDNet", "build_spherereid", "config_from_options"]

log = logging.getLogger("amlfs.baselines.spherereid")

RECIPE_EPOCHS = 150
CC = "CoinCheung/SphereReID@e02c7b9 "
PAPER = "SphereReID paper (arXiv 1807.00537) Sec. 4"

OPTIONS = sourced_options(reid_options(
    k=4,
    images=image_options(size_px=(288, 144), crop_px=(256, 128), erasing_p=0.5, erasing_fill="normalizedZero"),
    optimizer={"lr": positive_number(1e-3), "beta2": fraction(0.999), "weightDecay": non_negative_number(0.0)},
    schedule=schedule_options(RECIPE_EPOCHS, warmup_epochs=20, warmup_start_lr=1e-5, milestone_epochs=(90, 130),
                              warmup_form="exponential"),
    network={"scale": positive_number(14.0), "embeddingDim": positive_int(1024), "dropout": fraction(0.5),
             "lastStride": one_of(1, (1, 2)), "headInit": one_of("coincheung", HEAD_INITS)},
    epoch_batches="identities",
    ohem_keep=0.8,
    test_distance="dot",
), {
    "p": CC + "train.py:62 BalancedSampler(dataset, 16, 4)",
    "k": CC + "train.py:62 BalancedSampler(dataset, 16, 4)",
    "epochBatches": CC + "balanced_sampler.py:20 iter_num = len(persons) // P",
    "heightPx": CC + "market1501.py:48 Resize((288, 144))",
    "widthPx": CC + "market1501.py:48 Resize((288, 144))",
    "cropHeightPx": CC + "market1501.py:49 RandomCrop((256, 128))",
    "cropWidthPx": CC + "market1501.py:49 RandomCrop((256, 128))",
    "testHeightPx": CC + "market1501.py:63 Resize((288, 144)) at test (null: the resize size)",
    "testWidthPx": CC + "market1501.py:63 Resize((288, 144)) at test (null: the resize size)",
    "paddingPx": CC + "market1501.py:47-54 (no padding)",
    "erasingP": CC + "market1501.py:53 RandomErasing(0.5, mean=[0.0, 0.0, 0.0])",
    "erasingFill": CC + "market1501.py:53 erased after Normalize with mean [0, 0, 0]",
    "lr": CC + "train.py:35 start_lr = 1e-3; train.py:80 Adam(lr = 1e-3)",
    "beta2": CC + "train.py:80 Adam with torch's default betas (0.9, 0.999)",
    "weightDecay": CC + "train.py:80 Adam without weight decay",
    "recipeEpochs": CC + "train.py:86 for ep in range(150)",
    "warmupEpochs": CC + "train.py:32 warmup_epoch = 20",
    "warmupStartLr": CC + "train.py:33 warmup_lr = 1e-5",
    "warmupForm": CC + "train.py:39-40 lr = warmup_lr * warmup_scale ** epoch (geometric)",
    "milestoneEpochs": CC + "train.py:34 lr_steps = [90, 130]",
    "gamma": CC + "train.py:36 lr_factor = 0.1",
    "scale": CC + "sphere_loss.py:10 scale=14",
    "embeddingDim": CC + "backbone.py:30 Linear(2048, 1024)",
    "dropout": CC + "backbone.py:29 Dropout(0.5)",
    "lastStride": CC + "backbone.py:27 layer4 stride=1",
    "headInit": CC + "backbone.py:41-42 kaiming_normal_(fc.weight, a=1), zero bias; sphere_loss.py:18 "
                     "xavier_normal_(W, gain=1)",
    "ohemKeep": CC + "train.py:70 OhemSphereLoss(1024, num_classes, thresh=0.8)",
    "pretrainedPath": "ours: " + CC + "backbone.py:34 downloads torchvision's ImageNet ResNet-50; give it as a local file",
    "flipTest": CC + "evaluate.py:53-57, market1501.py:56-67 the mean of the unit embeddings of the image and "
                     "its mirror (backbone.py:58-60 normalizes each in eval mode)",
    "testDistance": CC + "evaluate.py:100-105 ranks by 1 / (q . g + 1) of the flip means, not re-normalized",
    "evalBatchSize": "ours: evaluation batch size (does not change the result)",
    "numWorkers": "ours: data loader processes (train.py:65 uses 8)",
    "strict": "ours: check the data set's official counts (false for fixtures)",
})

PRESETS = Presets(
    default="upstream",
    overrides={"paper": {"beta2": 0.99, "recipeEpochs": 140, "warmupStartLr": 5e-5, "warmupForm": "linear",
                         "milestoneEpochs": [80, 100], "erasingP": 0.0, "ohemKeep": 1.0, "epochBatches": "images",
                         "testDistance": "euclidean", "headInit": "ours"}},
    sources={"paper": {
        "beta2": PAPER + ".1: Adam with beta2 = 0.99",
        "recipeEpochs": PAPER + ".1: 140 epochs",
        "warmupStartLr": PAPER + ".1: warmed up from 5e-5",
        "warmupForm": PAPER + ".1: a linear warmup over 20 epochs",
        "milestoneEpochs": PAPER + ".1: times 0.1 at epochs 80 and 100",
        "erasingP": PAPER + ".1: crop and flip only (no random erasing)",
        "ohemKeep": PAPER + " Eq. 4: the sphere softmax averaged over the batch (no hard example mining)",
        "epochBatches": "ours: the paper does not define an epoch of P x K batches; one pass over the images",
        "testDistance": "ours: the paper ranks by Euclidean distance on the hypersphere; the flip mean re-normalized",
        "headInit": "ours: the paper does not give the head's initialization; Kaiming fan-out FC, N(0, 0.01) class "
                    "weights (the port before the presets)",
    }},
)
OPTIONS = {"recipe": sourced(PRESETS.option(), "upstream: CoinCheung/SphereReID@e02c7b9; paper: " + PAPER),
           **OPTIONS}



#: Where this port still differs from the authors' code or the paper (rendered into docs/baselines.md).
DIFFERENCES = (
    'Flip before crop (CoinCheung crops, then flips): the same distribution of training views.',
    "Resizing is ours (bilinear on tensors), not PIL's; random streams differ, so runs match in distribution, not bit for bit (the adapter runs the repository's own pipeline).",
    'The test split\'s re-ranked metrics (`*_rerank`) rank by Euclidean distance even with `testDistance: "dot"`; the plain metrics follow `testDistance`.',
)

@register_baseline("spherereid", datasets=REID_DATASETS, recipe=ReidRecipe, options=OPTIONS, presets=PRESETS)
def build_spherereid(experiment: Mapping[str, Any], device: torch.device) -> ReidRecipe:
    setup = reid_setup("spherereid", experiment, OPTIONS, log, PRESETS)
    options = setup.options

    def make_model(num_classes: int) -> SphereReIDNet:
        return setup.with_backbone(SphereReIDNet(num_classes, options["embeddingDim"], float(options["scale"]),
                                                 float(options["dropout"]), options["lastStride"],
                                                 options["headInit"]))

    return ReidRecipe(setup.data, make_model, setup.config, device, experiment.get("seed", 0))
