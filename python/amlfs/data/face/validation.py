"""Validation pairs for the search reward, from identities held out of CASIA-WebFace.

The reward (verification accuracy) must not see LFW, the test set: a seeded fraction of
the *training identities* is held out, never trained on, and turned into balanced
same / different pairs in folds, like LFW's View 2. The rule, documented because it
fixes the reward:

1. ``H = round_half_up(val_fraction * N)`` identities are held out: the first ``H`` of a
   :class:`SplitMix64` permutation (``split_seed``, ``STREAM_VALIDATION``) of the labels.
2. Folds are disjoint in identities, as LFW's: held-out identity number ``j`` (in that
   permutation order) goes to fold ``j % F``. ``F`` defaults to ``min(10, H // 2)`` and
   needs ``F >= 2`` (the threshold of a fold is chosen on the others) and ``H >= 2F`` (two
   identities per fold, for different pairs): at least 4 held-out identities.
3. Each fold gets ``P`` matched and ``P`` mismatched pairs, all distinct (unordered):
   ``P = min(pairs_per_fold, fewest distinct same-identity pairs of a fold, fewest
   different-identity pairs of a fold)``, so every fold has the same size. Total
   ``2 * F * P`` pairs (LFW: F = 10, P = 300, 6,000 pairs).
4. Draws, from the same generator, fold by fold, matched then mismatched: a matched pair
   is an identity uniform among the fold's identities with two images or more, then two
   distinct images uniform in it; a mismatched pair is two distinct identities uniform in
   the fold, then one image uniform in each; a pair already drawn is drawn again. When a
   fold holds fewer than ``2P`` distinct pairs of a class, the first ``P`` of a permutation
   of all of them (enumerated in index order) are taken instead, so drawing ends quickly.

The kept identities are relabelled ``0..N-H-1`` (sorted folder order) for training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Set, Tuple

from ..errors import DataError
from ..rng import STREAM_VALIDATION, SplitMix64, round_half_up
from .images import FaceImages
from .pairs import FacePairs

DEFAULT_PAIRS_PER_FOLD = 300
MAX_FOLDS = 10

Pair = Tuple[int, int]


@dataclass(frozen=True)
class FaceValidationSplit:
    """Training images of the kept identities, the held-out images and their pairs."""

    train: FaceImages
    held_out: FaceImages
    pairs: FacePairs


def same_pair_count(groups: List[List[int]]) -> int:
    return sum(len(g) * (len(g) - 1) // 2 for g in groups)


def different_pair_count(groups: List[List[int]]) -> int:
    total = sum(len(g) for g in groups)
    return (total * total - sum(len(g) ** 2 for g in groups)) // 2


def draw_same(rng: SplitMix64, groups: List[List[int]], count: int) -> List[Pair]:
    """``count`` distinct pairs of images of one identity (see the module's rule 4)."""
    eligible = [g for g in groups if len(g) >= 2]
    if 2 * count > same_pair_count(groups):
        every = [(g[i], g[j]) for g in eligible for i in range(len(g)) for j in range(i + 1, len(g))]
        return [every[k] for k in rng.permutation(len(every))[:count]]
    pairs: List[Pair] = []
    seen: Set[Pair] = set()
    while len(pairs) < count:
        group = eligible[rng.below(len(eligible))]
        i = rng.below(len(group))
        j = rng.below(len(group) - 1)
        j += j >= i
        pair = (group[i], group[j])
        if (min(pair), max(pair)) not in seen:
            seen.add((min(pair), max(pair)))
            pairs.append(pair)
    return pairs


def draw_different(rng: SplitMix64, groups: List[List[int]], count: int) -> List[Pair]:
    """``count`` distinct pairs of images of two identities (see the module's rule 4)."""
    if 2 * count > different_pair_count(groups):
        every = [(a, b) for x in range(len(groups)) for y in range(x + 1, len(groups))
                 for a in groups[x] for b in groups[y]]
        return [every[k] for k in rng.permutation(len(every))[:count]]
    pairs: List[Pair] = []
    seen: Set[Pair] = set()
    while len(pairs) < count:
        x = rng.below(len(groups))
        y = rng.below(len(groups) - 1)
        y += y >= x
        pair = (groups[x][rng.below(len(groups[x]))], groups[y][rng.below(len(groups[y]))])
        if (min(pair), max(pair)) not in seen:
            seen.add((min(pair), max(pair)))
            pairs.append(pair)
    return pairs


def face_validation_split(images: FaceImages, val_fraction: float, split_seed: int,
                          folds: Optional[int] = None,
                          pairs_per_fold: int = DEFAULT_PAIRS_PER_FOLD) -> FaceValidationSplit:
    """Hold out identities of ``images`` (CASIA-WebFace) and pair their images; see the module's rule.

    ``val_fraction`` and ``split_seed`` are ``dataset.splits.valFraction`` and ``splitSeed``.
    """
    n = images.num_classes
    held_count = round_half_up(val_fraction * n)
    if not 0 < held_count < n:
        raise DataError(f"`dataset.splits.valFraction`: a fraction of {val_fraction} of {n} identities holds out "
                        f"{held_count}; expected at least one identity on each side")
    if folds is None:
        folds = min(MAX_FOLDS, held_count // 2)
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise DataError(f"face validation pairs: expected `folds` >= 2 (a threshold is chosen on the other folds), "
                        f"got {folds!r}; {held_count} identities are held out and each fold needs two: "
                        "hold out a larger valFraction")
    if held_count < 2 * folds:
        raise DataError(f"face validation pairs: {folds} folds need {2 * folds} held-out identities (two per fold), "
                        f"got {held_count}; hold out a larger valFraction or use fewer folds")
    if isinstance(pairs_per_fold, bool) or not isinstance(pairs_per_fold, int) or pairs_per_fold < 1:
        raise DataError(f"face validation pairs: expected `pairs_per_fold` >= 1, got {pairs_per_fold!r}")

    rng = SplitMix64(split_seed, STREAM_VALIDATION)
    order = rng.permutation(n)
    held_labels = order[:held_count]
    held = images.keep_identities(held_labels)
    # Old label -> new label of the held-out set is by sorted name; fold by permutation position.
    new_label = {images.identities[old]: new for new, old in enumerate(sorted(held_labels))}
    by_label = held.by_label()
    fold_groups: List[List[List[int]]] = [[] for _ in range(folds)]
    for position, old in enumerate(held_labels):
        fold_groups[position % folds].append(by_label[new_label[images.identities[old]]])

    per_fold = min([pairs_per_fold] + [same_pair_count(g) for g in fold_groups]
                   + [different_pair_count(g) for g in fold_groups])
    if per_fold == 0:
        empty = next(f for f, g in enumerate(fold_groups) if same_pair_count(g) == 0)
        raise DataError(f"face validation pairs: no held-out identity of fold {empty} has two images, so it has no "
                        "matched pair; hold out a larger valFraction, use fewer folds or another splitSeed")

    path_a: List[str] = []
    path_b: List[str] = []
    same: List[bool] = []
    fold: List[int] = []
    for f, groups in enumerate(fold_groups):
        for matched, pairs in ((True, draw_same(rng, groups, per_fold)), (False, draw_different(rng, groups, per_fold))):
            for a, b in pairs:
                path_a.append(held.paths[a])
                path_b.append(held.paths[b])
                same.append(matched)
                fold.append(f)
    kept = sorted(set(range(n)) - set(held_labels))
    return FaceValidationSplit(images.keep_identities(kept), held,
                               FacePairs(tuple(path_a), tuple(path_b), tuple(same), tuple(fold), folds))
