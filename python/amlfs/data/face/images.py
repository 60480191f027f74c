"""A list of face images with identity labels, and the relabelling of a subset of identities."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ..errors import DataError


@dataclass(frozen=True)
class FaceImages:
    """Parallel tuples, one entry per image, sorted by identity folder then file name.

    ``labels[i]`` is in ``0..num_classes-1``; ``identities[label]`` is the identity's folder
    name (CASIA's 7-digit id, LFW's ``First_Last``). Identities are labelled in sorted
    folder-name order.
    """

    paths: Tuple[str, ...]
    labels: Tuple[int, ...]
    identities: Tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.paths) != len(self.labels):
            raise DataError(f"FaceImages: expected as many labels as paths, got {len(self.labels)} labels "
                            f"for {len(self.paths)} paths")
        bad = [label for label in self.labels if not 0 <= label < len(self.identities)]
        if bad:
            raise DataError(f"FaceImages: expected labels in 0..{len(self.identities) - 1}, got {bad[0]}")

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_classes(self) -> int:
        return len(self.identities)

    def by_label(self) -> List[List[int]]:
        """Image indices of each label, ``[label] -> [index, ...]`` in list order."""
        groups: List[List[int]] = [[] for _ in self.identities]
        for index, label in enumerate(self.labels):
            groups[label].append(index)
        return groups

    def keep_identities(self, labels: Sequence[int]) -> "FaceImages":
        """The images of ``labels`` only, relabelled ``0..len(labels)-1`` in sorted folder-name order."""
        bad = [label for label in labels if not 0 <= label < self.num_classes]
        if bad:
            raise DataError(f"FaceImages.keep_identities: expected labels in 0..{self.num_classes - 1}, got {bad[0]}")
        old_labels = sorted(set(labels), key=lambda label: self.identities[label])
        new_label: Dict[int, int] = {old: new for new, old in enumerate(old_labels)}
        names = [self.identities[old] for old in old_labels]
        kept = [i for i, label in enumerate(self.labels) if label in new_label]
        return FaceImages(tuple(self.paths[i] for i in kept), tuple(new_label[self.labels[i]] for i in kept),
                          tuple(names))
