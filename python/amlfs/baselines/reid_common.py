"""What the re-ID baselines (``spherereid``, ``sft``, ``mgn``) share: their options, the recipe
config built from them, the ImageNet backbone loader and the builder's common steps.

Each baseline file keeps only its network (in :mod:`amlfs.models`) and its differences.
Schedules are given in epochs of the ``recipeEpochs``-long run of the paper and stretched to
``search.epochs``: an epoch count ``e`` becomes ``round_half_up(e * search.epochs / recipeEpochs)``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import torch

from ..checkpoint import CheckpointError
from ..data.reid import ERASING_FILLS, PKSampler
from ..data.reid_registry import ReidData, load_reid_dataset
from ..data.rng import round_half_up
from ..models import PretrainedWeightsError, ResNet50
from .errors import BaselineError
from .options import (Option, Presets, boolean, epoch_list, fraction, int_or_null, non_negative_int,
                      non_negative_number, one_of, parse_options, path_or_null, positive_int, positive_number, sourced)
from .reid_recipe import TEST_DISTANCES, WARMUP_FORMS, ReidConfig

REID_DATASETS = ("market1501", "dukemtmc-reid")


def image_options(size_px: Tuple[int, int], crop_px: Optional[Tuple[int, int]], padding_px: int = 0,
                  test_size: bool = True, erasing_p: float = 0.0, erasing_fill: str = "random") -> Dict[str, Option]:
    """Resize (``heightPx``/``widthPx``), crop (null: none), padding, erasing (probability and fill,
    :data:`~amlfs.data.reid.ERASING_FILLS`) and, with ``test_size``, the test size (null: the resize size)."""
    crop = {"cropHeightPx": int_or_null(), "cropWidthPx": int_or_null()} if crop_px is None else {
        "cropHeightPx": positive_int(crop_px[0]), "cropWidthPx": positive_int(crop_px[1])}
    test = {"testHeightPx": int_or_null(), "testWidthPx": int_or_null()} if test_size else {}
    return {"heightPx": positive_int(size_px[0]), "widthPx": positive_int(size_px[1]), **crop, **test,
            "paddingPx": non_negative_int(padding_px), "erasingP": fraction(erasing_p),
            "erasingFill": one_of(erasing_fill, ERASING_FILLS)}


def sgd_options(lr: float, weight_decay: float) -> Dict[str, Option]:
    """SGD with momentum 0.9 by default (``optimizer: "adam"`` gives Adam)."""
    return {"optimizer": one_of("sgd", ("sgd", "adam")), "lr": positive_number(lr), "momentum": fraction(0.9),
            "weightDecay": non_negative_number(weight_decay)}


def schedule_options(recipe_epochs: int, warmup_epochs: int, warmup_start_lr: float,
                     milestone_epochs: Sequence[int], warmup_form: str = "linear") -> Dict[str, Option]:
    """A linear or exponential warmup, then times ``gamma`` (0.1) at each milestone; epochs of a ``recipeEpochs`` run."""
    return {"recipeEpochs": positive_int(recipe_epochs), "warmupEpochs": non_negative_int(warmup_epochs),
            "warmupStartLr": positive_number(warmup_start_lr), "warmupForm": one_of(warmup_form, WARMUP_FORMS),
            "milestoneEpochs": epoch_list(milestone_epochs), "gamma": positive_number(0.1)}


def reid_options(k: int, images: Mapping[str, Option], optimizer: Mapping[str, Option],
                 schedule: Mapping[str, Option], network: Mapping[str, Option], epoch_batches: str = "images",
                 ohem_keep: Optional[float] = None, flip_test: bool = True,
                 test_distance: str = "euclidean") -> Dict[str, Option]:
    """A re-ID baseline's options: P = 16 x K batches, what an epoch is (``epochBatches``: one pass over
    the images or over the identities), then the given groups, for a baseline whose loss is one
    softmax branch the share of each batch's hardest samples it keeps (``ohemKeep``, in (0, 1];
    given ``ohem_keep``), then the ImageNet weights (``pretrainedPath``) and evaluation options every
    re-ID baseline has: flip-averaged test features (``flipTest``) and the distance they are ranked by
    (``testDistance``: ``"euclidean"`` or ``"dot"``, see :func:`~amlfs.baselines.reid_recipe.ranking_distances`)."""
    ohem = {} if ohem_keep is None else {"ohemKeep": positive_number(ohem_keep)}
    return {"p": positive_int(16), "k": positive_int(k), "epochBatches": one_of(epoch_batches, PKSampler.EPOCHS),
            **images, **optimizer, **schedule, **network, **ohem,
            "pretrainedPath": path_or_null(), "flipTest": boolean(flip_test),
            "testDistance": one_of(test_distance, TEST_DISTANCES), "evalBatchSize": positive_int(128),
            "numWorkers": non_negative_int(4), "strict": boolean(True)}


def sourced_options(options: Mapping[str, Option], sources: Mapping[str, str]) -> Dict[str, Option]:
    """``options`` with each default's source from ``sources`` (every option must have one)."""
    missing = sorted(set(options) - set(sources))
    unknown = sorted(set(sources) - set(options))
    if missing or unknown:
        raise ValueError(f"sources: missing for {missing}, for no option: {unknown}")
    return {name: sourced(option, sources[name]) for name, option in options.items()}


def stretch(epochs: int, recipe_epochs: int, value: int) -> int:
    """An epoch count of a ``recipe_epochs``-long run, in a run of ``epochs``."""
    return round_half_up(value * epochs / recipe_epochs)


def size_option(options: Mapping[str, Any], height_key: str, width_key: str, default):
    """``(height, width)`` from two options given together, else ``default``."""
    height, width = options.get(height_key), options.get(width_key)
    if (height is None) != (width is None):
        raise BaselineError(f"`baseline.options.{height_key}`/`{width_key}`: give both or neither")
    return default if height is None else (height, width)


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
    ohem_keep = float(options.get("ohemKeep", 1.0))
    if ohem_keep > 1:
        raise BaselineError(f"`baseline.options.ohemKeep`: expected a number in (0, 1] (the share of each batch's "
                            f"hardest samples the loss keeps), got {ohem_keep!r}")
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
        warmup_form=options.get("warmupForm", "linear"),
        epoch_batches=options.get("epochBatches", "images"),
        ohem_keep=ohem_keep,
        erasing_fill=options.get("erasingFill", "random"),
        test_distance=options.get("testDistance", "euclidean"),
        **optimizer,
    )


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


@dataclass(frozen=True)
class ReidSetup:
    """A re-ID builder's parsed ``options``, recipe ``config``, ``data`` and ImageNet ``backbone`` (or None)."""

    options: Dict[str, Any]
    config: ReidConfig
    data: ReidData
    backbone: Optional[Dict[str, torch.Tensor]]

    def with_backbone(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` with the ImageNet weights loaded into ``model.backbone`` when there are any."""
        if self.backbone is not None:
            model.backbone.load_backbone_state(self.backbone, where=self.options["pretrainedPath"])
        return model


def reid_setup(baseline: str, experiment: Mapping[str, Any], spec: Mapping[str, Option],
               logger: logging.Logger, presets: Optional[Presets] = None) -> ReidSetup:
    """Options parsed against ``spec`` (with the defaults of the chosen preset), the recipe config,
    the dataset and the ImageNet backbone."""
    options = parse_options(baseline, experiment["baseline"].get("options", {}), spec, presets)
    config = config_from_options(options, experiment["search"]["epochs"])
    data = load_reid_dataset(experiment["dataset"], strict=options["strict"])
    return ReidSetup(options, config, data, imagenet_backbone(baseline, options["pretrainedPath"], logger))
