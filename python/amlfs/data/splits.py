"""Seeded, stratified hold-out splits with exact sizes."""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

from .errors import DataError
from .rng import SplitMix64, round_half_up


def stratified_holdout(labels: Sequence[int], fraction: float, seed: int, stream: int, what: str) -> Tuple[List[int], List[int]]:
    """Split ``range(len(labels))`` into (kept, held out), both sorted.

    Exactly ``round_half_up(fraction * n)`` indices are held out, spread over the classes
    in proportion to their sizes (largest remainders get the leftover slots, lower class
    first on ties); inside each class the held-out ones are the first of a
    :class:`SplitMix64` permutation for ``(seed, stream)``. ``what`` names the split in errors.
    """
    n = len(labels)
    total = round_half_up(fraction * n)
    if not 0 < total < n:
        raise DataError(f"{what}: a fraction of {fraction} of {n} samples leaves {total} held out; "
                        "expected at least one sample on each side")
    by_class: dict = {}
    for index, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(index)
    classes = sorted(by_class)
    exact = {c: fraction * len(by_class[c]) for c in classes}
    quota = {c: math.floor(exact[c]) for c in classes}
    leftover = total - sum(quota.values())
    for c in sorted(classes, key=lambda c: (-(exact[c] - quota[c]), c))[:leftover]:
        quota[c] += 1
    rng = SplitMix64(seed, stream)
    held: List[int] = []
    for c in classes:
        members = by_class[c]
        order = rng.permutation(len(members))
        held.extend(members[i] for i in order[: quota[c]])
    held_set = set(held)
    return [i for i in range(n) if i not in held_set], sorted(held)
