"""Re-ID dataset kinds (``market1501``, ``dukemtmc-reid``): the benchmark read from ``dataset.root``,
the validation split carved from its training identities.

Kept apart from :mod:`amlfs.data.registry`, whose readers return classification tensors:
a re-ID benchmark is a list of image files with identities and cameras, read lazily.
The reward is measured on the validation split (held-out training identities, see
:func:`amlfs.data.reid.reid_validation_split`); the official query/gallery is the test split.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping

from .config import DatasetConfig
from .errors import DataError
from .reid import ReidDataset, ReidImages, ReidTrainSet, read_dukemtmc_reid, read_market1501, reid_validation_split

ReidReader = Callable[[str, bool], ReidDataset]

REID_READERS: Dict[str, ReidReader] = {
    "market1501": read_market1501,
    "dukemtmc-reid": read_dukemtmc_reid,
}


def reid_kinds() -> List[str]:
    return sorted(REID_READERS)


@dataclass(frozen=True)
class ReidData:
    """Training identities (relabelled), validation query/gallery, test (official) query/gallery."""

    kind: str
    root: str
    train: ReidTrainSet
    val_query: ReidImages
    val_gallery: ReidImages
    test_query: ReidImages
    test_gallery: ReidImages

    def retrieval(self, split: str) -> "tuple[ReidImages, ReidImages]":
        """``(query, gallery)`` of ``"val"`` or ``"test"``."""
        if split == "val":
            return self.val_query, self.val_gallery
        if split == "test":
            return self.test_query, self.test_gallery
        raise DataError(f"Expected a split val or test, got {split!r}")

    def sizes(self) -> Dict[str, int]:
        """Image counts: training images, and query + gallery of each retrieval split."""
        return {"train": len(self.train), "val": len(self.val_query) + len(self.val_gallery),
                "test": len(self.test_query) + len(self.test_gallery)}


def load_reid_dataset(section: Mapping[str, Any], strict: bool = True) -> ReidData:
    """Read ``experiment["dataset"]`` of a re-ID kind; ``strict`` checks the official image counts."""
    config = DatasetConfig.from_section(section)
    reader = REID_READERS.get(config.kind)
    if reader is None:
        raise DataError(f"`dataset.kind`: {config.kind!r} is not a re-ID dataset (expected one of "
                        f"{', '.join(reid_kinds())})")
    if config.noise_ratio > 0:
        raise DataError("`dataset.labelNoise`: label noise is not supported for re-ID datasets")
    benchmark = reader(config.root, strict)
    split = reid_validation_split(benchmark.train, config.val_fraction, config.split_seed)
    return ReidData(kind=config.kind, root=benchmark.root, train=split.train, val_query=split.query,
                    val_gallery=split.gallery, test_query=benchmark.query, test_gallery=benchmark.gallery)
