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
This module also holds :func:`imagenet_backbone`, shared with ``mgn``.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import CheckpointError
from ..data.reid_registry import load_reid_dataset
from ..models import PretrainedWeightsError, ResNet50
from .errors import BaselineError
from .options import (boolean, epoch_list, fraction, int_or_null, non_negative_int, non_negative_number, one_of,
                      parse_options, path_or_null, positive_int, positive_number)
from .registry import register_baseline
from .reid_recipe import ReidRecipe
from .spherereid import config_from_options

log = logging.getLogger("amlfs.baselines.sft")

RECIPE_EPOCHS = 100

OPTIONS = {
    "p": positive_int(16),
    "k": positive_int(8),
    "heightPx": positive_int(256),
    "widthPx": positive_int(128),
    "cropHeightPx": positive_int(256),
    "cropWidthPx": positive_int(128),
    "testHeightPx": int_or_null(),
    "testWidthPx": int_or_null(),
    "paddingPx": non_negative_int(10),
    "erasingP": fraction(0.0),
    "optimizer": one_of("sgd", ("sgd", "adam")),
    "lr": positive_number(0.1),
    "momentum": fraction(0.9),
    "weightDecay": non_negative_number(5e-4),
    "recipeEpochs": positive_int(RECIPE_EPOCHS),
    "warmupEpochs": non_negative_int(10),
    "warmupStartLr": positive_number(0.01),
    "milestoneEpochs": epoch_list((40, 70)),
    "gamma": positive_number(0.1),
    "scale": positive_number(15.0),
    "temperature": positive_number(0.1),
    "embeddingDim": positive_int(512),
    "lastStride": one_of(1, (1, 2)),
    "pretrainedPath": path_or_null(),
    "flipTest": boolean(True),
    "evalBatchSize": positive_int(128),
    "numWorkers": non_negative_int(4),
    "strict": boolean(True),
}


def spectral_feature_transform(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax_rows(x x^T / temperature) @ x`` for a batch ``x`` of ``[N, D]`` (unit rows); ``[N, D]``."""
    return torch.softmax(x @ x.t() / temperature, dim=1) @ x


class SpectralFeatureTransform(nn.Module):
    """:func:`spectral_feature_transform` in training mode, the identity in evaluation mode."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spectral_feature_transform(x, self.temperature) if self.training else x

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class SftNet(nn.Module):
    """``branch(x) -> (cosine [N, C], s)`` through the SFT layer; ``features(x) -> [N, D]`` unit rows, no SFT."""

    def __init__(self, num_classes: int, embedding_dim: int = 512, scale: float = 15.0, temperature: float = 0.1,
                 last_stride: int = 1):
        super().__init__()
        self.backbone = ResNet50(last_stride=last_stride)
        self.fc = nn.Linear(self.backbone.out_channels, embedding_dim)
        self.bn = nn.BatchNorm1d(embedding_dim)
        self.prelu = nn.PReLU(embedding_dim)
        self.sft = SpectralFeatureTransform(temperature)
        self.classifier = nn.Linear(embedding_dim, num_classes, bias=False)  # only its direction is used
        nn.init.kaiming_normal_(self.fc.weight, mode="fan_out")
        nn.init.zeros_(self.fc.bias)
        nn.init.normal_(self.classifier.weight, std=0.01)
        self.scale = float(scale)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The unit embedding ``[N, embedding_dim]`` (FC - BN - PReLU - L2), without the SFT layer."""
        pooled = F.adaptive_avg_pool2d(self.backbone.features(x), 1).flatten(1)
        return F.normalize(self.prelu(self.bn(self.fc(pooled))), dim=1)

    def branch(self, x: torch.Tensor):
        """AM-softmax inputs: ``cosine [N, C]`` of the SFT-transformed embeddings and class weights, and ``s``."""
        transformed = self.sft(self.features(x))
        cosine = F.normalize(transformed, dim=1) @ F.normalize(self.classifier.weight, dim=1).t()
        return cosine, self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def imagenet_backbone(baseline: str, path: Optional[str], logger: logging.Logger):
    """The ResNet-50 backbone state from ``path`` (checked once), or None with a warning."""
    if path is None:
        logger.warning("%s: no `baseline.options.pretrainedPath`; the ResNet-50 backbone trains from scratch "
                       "(give a local torchvision ImageNet resnet50 .pth for the paper's setting)", baseline)
        return None
    probe = ResNet50(last_stride=1)
    try:
        probe.load_pretrained(path)
    except (PretrainedWeightsError, CheckpointError) as error:
        raise BaselineError(f"`baseline.options.pretrainedPath`: {error}") from error
    logger.info("%s: ImageNet backbone from %s", baseline, path)
    return probe.backbone_state_dict()


@register_baseline("sft", datasets=("market1501", "dukemtmc-reid"), recipe=ReidRecipe, options=OPTIONS)
def build_sft(experiment: Mapping[str, Any], device: torch.device) -> ReidRecipe:
    options = parse_options("sft", experiment["baseline"].get("options", {}), OPTIONS)
    config = config_from_options(options, experiment["search"]["epochs"])
    data = load_reid_dataset(experiment["dataset"], strict=options["strict"])
    backbone = imagenet_backbone("sft", options["pretrainedPath"], log)

    def make_model(num_classes: int) -> SftNet:
        model = SftNet(num_classes, options["embeddingDim"], float(options["scale"]), float(options["temperature"]),
                       options["lastStride"])
        if backbone is not None:
            model.backbone.load_backbone_state(backbone, where=options["pretrainedPath"])
        return model

    return ReidRecipe(data, make_model, config, device, experiment.get("seed", 0))
