"""A validation split for the search reward, carved out of the training identities.

The reward (mAP, rank-1) must not see ``query``/``bounding_box_test``: a seeded fraction
of the *training identities* is held out and turned into a small retrieval problem.

Rule for the held-out identities (documented because it fixes the reward):

- an identity seen by two or more cameras gives, for each of its cameras holding at least
  two of its images, one image (seeded pick) to the validation query; everything else goes
  to the validation gallery. Every camera of the identity thus stays in the gallery, so
  each query has a true match from another camera (the protocol drops same-camera matches);
- an identity seen by one camera only goes entirely to the gallery (a negative).

The kept identities are relabelled ``0..N-1`` (increasing original pid) for training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

from ..errors import DataError
from ..rng import STREAM_VALIDATION, SplitMix64, round_half_up
from .images import ReidImages, ReidTrainSet, relabel


@dataclass(frozen=True)
class ReidValidationSplit:
    """Training set of the kept identities, and query/gallery of the held-out ones (original pids)."""

    train: ReidTrainSet
    query: ReidImages
    gallery: ReidImages


def reid_validation_split(train: ReidTrainSet, fraction: float, seed: int) -> ReidValidationSplit:
    """Hold out ``round_half_up(fraction * num_ids)`` training identities (seeded, :class:`SplitMix64`).

    The identities are the first of a permutation of the sorted original pids for
    ``(seed, STREAM_VALIDATION)``; the query image of each (identity, camera) is the first
    of a permutation of that group's images (sorted by path), drawn from the same stream.
    """
    images = train.images
    identities = images.identities
    held_count = round_half_up(fraction * len(identities))
    if not 0 < held_count < len(identities):
        raise DataError(f"reid validation split: a fraction of {fraction} of {len(identities)} training "
                        f"identities holds out {held_count}; expected at least one identity on each side")
    rng = SplitMix64(seed, STREAM_VALIDATION)
    order = rng.permutation(len(identities))
    held = {identities[i] for i in order[:held_count]}

    groups: Dict[int, Dict[int, List[int]]] = {}
    kept: List[int] = []
    for index, (pid, camid) in enumerate(zip(images.pids, images.camids)):
        if pid in held:
            groups.setdefault(pid, {}).setdefault(camid, []).append(index)
        else:
            kept.append(index)

    query: List[int] = []
    for pid in sorted(groups):
        cameras = groups[pid]
        if len(cameras) < 2:
            continue
        for camid in sorted(cameras):
            members = cameras[camid]
            if len(members) >= 2:
                query.append(members[rng.permutation(len(members))[0]])
    if not query:
        raise DataError(f"reid validation split: none of the {held_count} held-out identities has two cameras "
                        "with a camera holding two images, so the validation query is empty; "
                        "hold out a larger fraction or use another seed")
    query_set = set(query)
    gallery = [i for pid in sorted(groups) for camid in sorted(groups[pid]) for i in groups[pid][camid]
               if i not in query_set]
    return ReidValidationSplit(relabel(images.subset(kept)), images.subset(sorted(query)),
                               images.subset(sorted(gallery)))
