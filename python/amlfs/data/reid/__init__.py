"""Person re-identification data: Market-1501 and DukeMTMC-reID readers, a validation split
held out of the training identities, a P x K identity sampler and tensor transforms."""
from .dataset import ReidImageDataset
from .images import DISTRACTOR_PID, JUNK_PID, ReidImages, ReidTrainSet, relabel
from .layouts import DUKEMTMC_REID, MARKET1501, REID_LAYOUTS, ExpectedCounts, ReidLayout
from .reader import ReidDataset, parse_name, read_dukemtmc_reid, read_market1501, read_reid
from .sampler import PKSampler
from .transforms import (
    ERASING_FILLS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    erasing_fill,
    eval_transform,
    hflip,
    load_image,
    normalize,
    pad_random_crop,
    random_erasing,
    random_hflip,
    resize,
    train_augment,
)
from .validation import ReidValidationSplit, reid_validation_split

__all__ = [
    "ERASING_FILLS",
    "erasing_fill",
    "DISTRACTOR_PID",
    "DUKEMTMC_REID",
    "ExpectedCounts",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "JUNK_PID",
    "MARKET1501",
    "PKSampler",
    "REID_LAYOUTS",
    "ReidDataset",
    "ReidImageDataset",
    "ReidImages",
    "ReidLayout",
    "ReidTrainSet",
    "ReidValidationSplit",
    "eval_transform",
    "hflip",
    "load_image",
    "normalize",
    "pad_random_crop",
    "parse_name",
    "random_erasing",
    "random_hflip",
    "read_dukemtmc_reid",
    "read_market1501",
    "read_reid",
    "reid_validation_split",
    "relabel",
    "resize",
    "train_augment",
]
