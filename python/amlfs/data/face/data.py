"""The face data of the CosFace baseline: CASIA-WebFace training identities, validation pairs
from held-out identities (the reward), LFW pairs (the test, touched once at the end)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from ..config import DatasetConfig
from ..errors import DataError
from .casia import read_casia_webface
from .discover import FaceRoots, find_face_roots
from .images import FaceImages
from .lfw import read_lfw_pairs
from .pairs import FacePairs
from .validation import DEFAULT_PAIRS_PER_FOLD, face_validation_split

KIND = "casia-webface"


@dataclass(frozen=True)
class FaceData:
    """Training images (kept identities, labels ``0..num_classes-1``), validation pairs, test (LFW) pairs."""

    roots: FaceRoots
    train: FaceImages
    val_images: FaceImages
    val_pairs: FacePairs
    test_pairs: FacePairs

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    def pairs(self, split: str) -> FacePairs:
        """The pairs of ``"val"`` or ``"test"``."""
        if split == "val":
            return self.val_pairs
        if split == "test":
            return self.test_pairs
        raise DataError(f"Expected a split val or test, got {split!r}")

    def sizes(self) -> Dict[str, int]:
        """Training images, and the pair counts of the validation and test splits."""
        return {"train": len(self.train), "val": len(self.val_pairs), "test": len(self.test_pairs)}


def load_face_data(root: str, val_fraction: float, split_seed: int, lfw_root: Optional[str] = None,
                   pairs_txt: Optional[str] = None, folds: Optional[int] = None,
                   pairs_per_fold: int = DEFAULT_PAIRS_PER_FOLD, check_counts: bool = False) -> FaceData:
    """Read CASIA-WebFace and LFW as :func:`find_face_roots` finds them, and split off the validation pairs.

    See :func:`face_validation_split` for ``folds`` and ``pairs_per_fold``;
    ``check_counts`` checks the official CASIA-WebFace counts.
    """
    roots = find_face_roots(root, lfw_root, pairs_txt)
    casia = read_casia_webface(roots.casia, check_counts)
    test_pairs = read_lfw_pairs(roots.pairs_txt, roots.lfw)
    split = face_validation_split(casia, val_fraction, split_seed, folds, pairs_per_fold)
    return FaceData(roots=roots, train=split.train, val_images=split.held_out, val_pairs=split.pairs,
                    test_pairs=test_pairs)


def load_face_dataset(section: Mapping[str, Any], lfw_root: Optional[str] = None,
                      pairs_txt: Optional[str] = None, check_counts: bool = False,
                      pairs_per_fold: int = DEFAULT_PAIRS_PER_FOLD) -> FaceData:
    """Read ``experiment["dataset"]`` of kind ``casia-webface`` (``root``, ``splits.valFraction``, ``splits.splitSeed``)."""
    config = DatasetConfig.from_section(section)
    if config.kind != KIND:
        raise DataError(f"`dataset.kind`: expected {KIND!r}, got {config.kind!r}")
    if config.noise_ratio > 0:
        raise DataError("`dataset.labelNoise`: label noise is not supported for face datasets")
    return load_face_data(config.root, config.val_fraction, config.split_seed, lfw_root, pairs_txt,
                          pairs_per_fold=pairs_per_fold, check_counts=check_counts)
