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
from typing import Any, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import CheckpointError
from ..data.reid_registry import load_reid_dataset
from ..data.rng import round_half_up
from ..models import PretrainedWeightsError, ResNet50
from .errors import BaselineError
from .options import (boolean, epoch_list, fraction, int_or_null, non_negative_int, non_negative_number, one_of,
                      parse_options, path_or_null, positive_int, positive_number)
from .registry import register_baseline
from .reid_recipe import ReidConfig, ReidRecipe

log = logging.getLogger("amlfs.baselines.spherereid")

RECIPE_EPOCHS = 140


OPTIONS = {
    "p": positive_int(16),
    "k": positive_int(4),
    "heightPx": positive_int(288),
    "widthPx": positive_int(144),
    "cropHeightPx": positive_int(256),
    "cropWidthPx": positive_int(128),
    "testHeightPx": int_or_null(),
    "testWidthPx": int_or_null(),
    "paddingPx": non_negative_int(0),
    "erasingP": fraction(0.0),
    "lr": positive_number(1e-3),
    "beta2": fraction(0.99),
    "weightDecay": non_negative_number(0.0),
    "recipeEpochs": positive_int(RECIPE_EPOCHS),
    "warmupEpochs": non_negative_int(20),
    "warmupStartLr": positive_number(5e-5),
    "milestoneEpochs": epoch_list((80, 100)),
    "gamma": positive_number(0.1),
    "scale": positive_number(14.0),
    "embeddingDim": positive_int(1024),
    "dropout": fraction(0.5),
    "lastStride": one_of(1, (1, 2)),
    "pretrainedPath": path_or_null(),
    "flipTest": boolean(True),
    "evalBatchSize": positive_int(128),
    "numWorkers": non_negative_int(4),
    "strict": boolean(True),
}


class SphereReIDNet(nn.Module):
    """Network D of SphereReID. ``branch(x) -> (cosine [N, C], s)``; ``features(x) -> [N, D]`` unit rows."""

    def __init__(self, num_classes: int, embedding_dim: int = 1024, scale: float = 14.0, dropout: float = 0.5,
                 last_stride: int = 1):
        super().__init__()
        self.backbone = ResNet50(last_stride=last_stride)
        channels = self.backbone.out_channels
        self.bn1 = nn.BatchNorm1d(channels)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, embedding_dim)
        self.bn2 = nn.BatchNorm1d(embedding_dim)
        self.classifier = nn.Linear(embedding_dim, num_classes, bias=False)  # only its direction is used
        nn.init.kaiming_normal_(self.fc.weight, mode="fan_out")
        nn.init.zeros_(self.fc.bias)
        nn.init.normal_(self.classifier.weight, std=0.01)
        self.scale = float(scale)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding before normalization, ``[N, embedding_dim]``."""
        pooled = F.adaptive_avg_pool2d(self.backbone.features(x), 1).flatten(1)
        return self.bn2(self.fc(self.dropout(self.bn1(pooled))))

    def branch(self, x: torch.Tensor):
        """Sphere softmax inputs: ``cosine [N, C]`` of normalized embeddings and class weights, and ``s``."""
        cosine = F.normalize(self.embed(x), dim=1) @ F.normalize(self.classifier.weight, dim=1).t()
        return cosine, self.scale

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(x), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def stretch(epochs: int, recipe_epochs: int, value: int) -> int:
    """An epoch count of a ``recipe_epochs``-long run, in a run of ``epochs``."""
    return round_half_up(value * epochs / recipe_epochs)


def config_from_options(options: Mapping[str, Any], epochs: int) -> ReidConfig:
    """The :class:`ReidConfig` of a re-ID baseline's parsed options (SphereReID, SFT, MGN).

    Crop and test sizes fall back to the resize size when a baseline has no such options
    or leaves them null; ``optimizer`` (default Adam), Adam's ``beta2`` and SGD's ``momentum`` are
    used where the baseline has them. The recipe's
    epochs (``recipeEpochs``) are stretched to ``search.epochs`` with :func:`stretch`.
    """
    resize = (options["heightPx"], options["widthPx"])
    recipe_epochs = options["recipeEpochs"]
    optimizer = {"optimizer": options.get("optimizer", "adam")}
    if "beta2" in options:
        optimizer["betas"] = (0.9, float(options["beta2"]))
    if "momentum" in options:
        optimizer["momentum"] = float(options["momentum"])
    return ReidConfig(
        epochs=epochs,
        p=options["p"],
        k=options["k"],
        resize_px=resize,
        crop_px=size_option(options, "cropHeightPx", "cropWidthPx", resize),
        test_px=size_option(options, "testHeightPx", "testWidthPx", resize),
        lr=float(options["lr"]),
        weight_decay=float(options["weightDecay"]),
        warmup_epochs=stretch(epochs, recipe_epochs, options["warmupEpochs"]),
        warmup_start_factor=min(1.0, float(options["warmupStartLr"]) / float(options["lr"])),
        milestones=tuple(stretch(epochs, recipe_epochs, m) for m in options["milestoneEpochs"]),
        gamma=float(options["gamma"]),
        padding_px=options["paddingPx"],
        erasing_p=float(options["erasingP"]),
        flip_test=options["flipTest"],
        eval_batch_size=options["evalBatchSize"],
        num_workers=options["numWorkers"],
        **optimizer,
    )


def size_option(options: Mapping[str, Any], height_key: str, width_key: str, default):
    """``(height, width)`` from two options given together, else ``default``."""
    height, width = options.get(height_key), options.get(width_key)
    if (height is None) != (width is None):
        raise BaselineError(f"`baseline.options.{height_key}`/`{width_key}`: give both or neither")
    return default if height is None else (height, width)


def pretrained_backbone(path: Optional[str]):
    """The backbone state from ``path`` (checked against ResNet-50 once), or None with a warning."""
    if path is None:
        log.warning("spherereid: no `baseline.options.pretrainedPath`; the ResNet-50 backbone trains from scratch "
                    "(give a local torchvision ImageNet resnet50 .pth for the paper's setting)")
        return None
    probe = ResNet50(last_stride=1)
    try:
        probe.load_pretrained(path)
    except (PretrainedWeightsError, CheckpointError) as error:
        raise BaselineError(f"`baseline.options.pretrainedPath`: {error}") from error
    log.info("spherereid: ImageNet backbone from %s", path)
    return probe.backbone_state_dict()


@register_baseline("spherereid", datasets=("market1501", "dukemtmc-reid"), recipe=ReidRecipe, options=OPTIONS)
def build_spherereid(experiment: Mapping[str, Any], device: torch.device) -> ReidRecipe:
    options = parse_options("spherereid", experiment["baseline"].get("options", {}), OPTIONS)
    config = config_from_options(options, experiment["search"]["epochs"])
    data = load_reid_dataset(experiment["dataset"], strict=options["strict"])
    backbone = pretrained_backbone(options["pretrainedPath"])

    def make_model(num_classes: int) -> SphereReIDNet:
        model = SphereReIDNet(num_classes, options["embeddingDim"], float(options["scale"]), float(options["dropout"]),
                              options["lastStride"])
        if backbone is not None:
            model.backbone.load_backbone_state(backbone, where=options["pretrainedPath"])
        return model

    return ReidRecipe(data, make_model, config, device, experiment.get("seed", 0))
