"""Lists of re-ID images: path, original identity, camera; and the relabelling of identities."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ..errors import DataError

JUNK_PID = -1
DISTRACTOR_PID = 0


@dataclass(frozen=True)
class ReidImages:
    """Parallel tuples, one entry per image, in sorted file-name order.

    ``pids`` are the identities as written in the file names (``0`` = distractor),
    ``camids`` the cameras, 0-based (``c1`` is 0).
    """

    paths: Tuple[str, ...]
    pids: Tuple[int, ...]
    camids: Tuple[int, ...]

    def __post_init__(self) -> None:
        if not len(self.paths) == len(self.pids) == len(self.camids):
            raise DataError(f"ReidImages: expected paths, pids and camids of one length, got "
                             f"{len(self.paths)}, {len(self.pids)}, {len(self.camids)}")

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def identities(self) -> Tuple[int, ...]:
        """The distinct pids, sorted."""
        return tuple(sorted(set(self.pids)))

    def subset(self, indices: Sequence[int]) -> "ReidImages":
        return ReidImages(tuple(self.paths[i] for i in indices), tuple(self.pids[i] for i in indices),
                          tuple(self.camids[i] for i in indices))


@dataclass(frozen=True)
class ReidTrainSet:
    """Training images with their class labels ``0..num_classes-1`` (original pids in sorted order)."""

    images: ReidImages
    labels: Tuple[int, ...]
    num_classes: int

    def __len__(self) -> int:
        return len(self.images)


def relabel(images: ReidImages) -> ReidTrainSet:
    """Give the identities of ``images`` the labels ``0..N-1`` in increasing order of original pid."""
    mapping: Dict[int, int] = {pid: label for label, pid in enumerate(images.identities)}
    labels: List[int] = [mapping[pid] for pid in images.pids]
    return ReidTrainSet(images, tuple(labels), len(mapping))
