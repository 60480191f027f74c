"""``sft``: Spectral Feature Transformation (Luo et al., "Spectral Feature Transformation for Person
Re-identification", ICCV 2019), with its AM-softmax branches searched.

Model (:class:`~amlfs.models.sft_net.SftNet`): ResNet-50 with last stride 1 (output stride 16), GAP
to the 2048-d feature ``f``, a bottleneck FC(2048 -> 512, no bias) - BN - PReLU - L2 and a cosine
classifier with a fixed ``s = 15``. The SFT layer (training only) mixes a batch's features through
their affinity, ``T = 0.1``::

    A = softmax_rows(N N^T / T)       # [B, B], N the L2-normalized rows of X
    X' = A X                          # each row a soft average over the batch

AM-softmax (``t(x) = x - 0.3``, the search-space point ``cosineMargin(0.3)``, where the shipped
configs start the search) is the loss of every branch AM-LFS replaces:
``loss = sum over branches of SearchedSoftmaxLoss(cos, y, 15)``.

Recipe presets (``recipe``; every value and its source in ``docs/baselines.md``):

- ``upstream`` (default), the authors' code, LuckyDC/sft-reid@8ed21cc (MXNet): SFT on the pooled
  features ``X = f``; deep supervision: the bottleneck and the classifier see ``[f; SFT(f)]``, two
  branches whose mean losses add up (``SoftmaxOutput`` with ``rescale_grad = 1 / batch``);
  test features the pooled ``f``, L2-normalized (cosine ranking), no flip. Images resized to
  256 x 128, flipped, erased (p 0.5, pixel value 127), no crop; P = 16 x K = 8, an epoch of
  ``len(identities) // 16`` batches; SGD lr 0.1, momentum 0.9, weight decay 5e-4, warmed up
  linearly from 0.001 over 20 epochs, times 0.1 at epochs 80 and 100 of 140.
- ``paper``, the port before the presets (our reading of the paper): SFT on the unit bottleneck
  embeddings ``X``, one branch, test features the unit embeddings flip-averaged; images zero-padded
  by 10 px and randomly cropped back, no erasing; an epoch of one pass over the images; warmup from
  0.01 over 10 epochs, times 0.1 at epochs 40 and 70 of 100.

As in ``spherereid``, the schedule is in epochs of the ``recipeEpochs``-long run and stretched to
``search.epochs``: an epoch count ``e`` becomes ``round_half_up(e * search.epochs / recipeEpochs)``.

ImageNet weights: ``pretrainedPath`` (a local torchvision ResNet-50 ``.pth``), as ``spherereid``.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

import torch

from ..models.sft_net import SFT_INPUTS, TEST_FEATURES, SftNet, SpectralFeatureTransform, spectral_feature_transform
from .options import Presets, boolean, one_of, positive_int, positive_number, sourced
from .registry import register_baseline
from .reid_common import (REID_DATASETS, config_from_options, image_options, reid_options, reid_setup,
                          schedule_options, sgd_options, sourced_options)
from .reid_recipe import ReidRecipe

__all__ = ["OPTIONS", "PRESETS", "RECIPE_EPOCHS", "SftNet", "SpectralFeatureTransform", "build_sft",
           "config_from_options", "spectral_feature_transform"]

log = logging.getLogger("amlfs.baselines.sft")

RECIPE_EPOCHS = 140
LUCKY = "LuckyDC/sft-reid@8ed21cc "
PAPER = "ours, the port before the presets"

OPTIONS = sourced_options(reid_options(
    k=8,
    images=image_options(size_px=(256, 128), crop_px=None, test_size=False, erasing_p=0.5, erasing_fill="pixel127"),
    optimizer=sgd_options(lr=0.1, weight_decay=5e-4),
    schedule=schedule_options(RECIPE_EPOCHS, warmup_epochs=20, warmup_start_lr=1e-3, milestone_epochs=(80, 100)),
    network={"scale": positive_number(15.0), "temperature": positive_number(0.1), "embeddingDim": positive_int(512),
             "lastStride": one_of(1, (1, 2)), "sftInput": one_of("pooled", SFT_INPUTS),
             "deepSupervision": boolean(True), "testFeature": one_of("pooled", TEST_FEATURES)},
    epoch_batches="identities",
    flip_test=False,
), {
    "p": LUCKY + "config.yml p_size: 16",
    "k": LUCKY + "config.yml k_size: 8",
    "epochBatches": LUCKY + "utils/iterators.py TrainIterator: one pass over the shuffled identities, P at a time "
                            "(the last chunk dropped: len(ids) // P batches unless P divides len(ids))",
    "heightPx": LUCKY + "config.yml image_size: [256, 128]; utils/iterators.py Resize(image_size)",
    "widthPx": LUCKY + "config.yml image_size: [256, 128]; utils/iterators.py Resize(image_size)",
    "cropHeightPx": LUCKY + "config.yml random_crop: false (null: no crop)",
    "cropWidthPx": LUCKY + "config.yml random_crop: false (null: no crop)",
    "paddingPx": LUCKY + "utils/iterators.py get_train_iterator (no padding)",
    "erasingP": LUCKY + "config.yml random_erase: true; utils/augmentor.py RandomErase (p 0.5, audited)",
    "erasingFill": LUCKY + "utils/augmentor.py RandomErase fills 127 on the 0-255 image, before the network's "
                           "normalization (audited)",
    "optimizer": LUCKY + "config.yml optimizer: sgd",
    "lr": LUCKY + "config.yml lr: 0.1",
    "momentum": LUCKY + "train.py optimizer_params momentum 0.9",
    "weightDecay": LUCKY + "config.yml wd: 0.0005 (ours: torch decays every parameter; MXNet's default "
                           "wd_mult skips biases and BN betas)",
    "recipeEpochs": LUCKY + "config.yml num_epoch: 140",
    "warmupEpochs": LUCKY + "train.py WarmupMultiFactorScheduler(warmup_step=train.size * 20)",
    "warmupStartLr": LUCKY + "train.py WarmupMultiFactorScheduler(warmup_lr=lr / 100)",
    "warmupForm": LUCKY + "train.py WarmupMultiFactorScheduler(mode=\"gradual\"): linear (ours: per epoch; "
                          "upstream per iteration)",
    "milestoneEpochs": LUCKY + "config.yml lr_step: [80, 100]",
    "gamma": LUCKY + "train.py WarmupMultiFactorScheduler(factor=0.1)",
    "scale": LUCKY + "config.yml norm_scale: 15",
    "temperature": LUCKY + "config.yml temperature: 0.1",
    "embeddingDim": LUCKY + "config.yml bottleneck_dims: 512",
    "lastStride": LUCKY + "config.yml network: resnet_s16 (output stride 16: last stride 1)",
    "sftInput": LUCKY + "train.py build_network: the SFT block on flatten, the pooled features",
    "deepSupervision": LUCKY + "config.yml deep_sup: true; train.py build_network's classification branch "
                               "concatenates the pooled and the transformed features (one bottleneck, one classifier)",
    "testFeature": LUCKY + "utils/extract.py extracts flatten_output, the pooled feature",
    "flipTest": LUCKY + "utils/extract.py: one pass, no mirrored image",
    "testDistance": LUCKY + "eval.py: cosine similarity (audited); ours: Euclidean distance of unit features, the "
                            "same order",
    "pretrainedPath": "ours: " + LUCKY + "train.py loads MXNet's ImageNet resnet-50; give a torchvision one as a file",
    "evalBatchSize": "ours: evaluation batch size (does not change the result)",
    "numWorkers": "ours: data loader processes",
    "strict": "ours: check the data set's official counts (false for fixtures)",
})

PRESETS = Presets(
    default="upstream",
    overrides={"paper": {"recipeEpochs": 100, "warmupEpochs": 10, "warmupStartLr": 0.01, "milestoneEpochs": [40, 70],
                         "paddingPx": 10, "erasingP": 0.0, "epochBatches": "images", "sftInput": "embedding",
                         "deepSupervision": False, "testFeature": "embedding", "flipTest": True}},
    sources={"paper": {
        "recipeEpochs": PAPER + ": 100 epochs (unverified in the paper)",
        "warmupEpochs": PAPER + ": a 10-epoch warmup (the paper: a linear warmup; length unverified)",
        "warmupStartLr": PAPER + ": from 0.01 (unverified in the paper)",
        "milestoneEpochs": PAPER + ": times 0.1 at epochs 40 and 70 (unverified in the paper)",
        "paddingPx": PAPER + ": zero-pad 10 px and crop back (unverified in the paper)",
        "erasingP": PAPER + ": no random erasing (unverified in the paper)",
        "epochBatches": PAPER + ": one pass over the images",
        "sftInput": PAPER + ": SFT on the unit bottleneck embeddings (our reading of the paper's Sec. 3)",
        "deepSupervision": PAPER + ": the SFT branch alone",
        "testFeature": PAPER + ": the unit bottleneck embedding",
        "flipTest": PAPER + ": flip-averaged test features",
    }},
)
OPTIONS = {"recipe": sourced(PRESETS.option(), "upstream: LuckyDC/sft-reid@8ed21cc; paper: " + PAPER), **OPTIONS}



#: Where this port still differs from the authors' code or the paper (rendered into docs/baselines.md).
DIFFERENCES = (
    "The authors' code is MXNet; the port is checked value by value, not against running code (LuckyDC/sft-reid has no PyTorch adapter).",
    "The warmup steps once per epoch; LuckyDC's per iteration.",
    "torch's weight decay applies to every parameter; MXNet's default skips biases and batch-norm betas. MXNet's momentum update differs slightly when the learning rate changes.",
    "The classifier starts from N(0, 0.01) instead of MXNet's MSRA initialisation; batch-norm eps is 1e-5, not 2e-5.",
)

@register_baseline("sft", datasets=REID_DATASETS, recipe=ReidRecipe, options=OPTIONS, presets=PRESETS)
def build_sft(experiment: Mapping[str, Any], device: torch.device) -> ReidRecipe:
    setup = reid_setup("sft", experiment, OPTIONS, log, PRESETS)
    options = setup.options

    def make_model(num_classes: int) -> SftNet:
        return setup.with_backbone(SftNet(num_classes, options["embeddingDim"], float(options["scale"]),
                                          float(options["temperature"]), options["lastStride"], options["sftInput"],
                                          options["deepSupervision"], options["testFeature"]))

    return ReidRecipe(setup.data, make_model, setup.config, device, experiment.get("seed", 0))
