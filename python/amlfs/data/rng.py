"""A small seeded generator for splits and label noise, identical on every platform and version.

SplitMix64 (Steele, Lea and Flood, 2014) in plain Python: a split or a noisy label set
must not change when numpy or torch change their generators, so a run, a resume and a
re-analysis all see the same samples. It is only used for ``O(n)`` bookkeeping (a 50,000
element permutation takes a few tens of milliseconds).
"""
from __future__ import annotations

from typing import List

_MASK = (1 << 64) - 1

#: Streams, so that the same seed gives independent draws for each purpose.
STREAM_TEST_HOLDOUT = 1
STREAM_VALIDATION = 2
STREAM_LABEL_NOISE = 3
STREAM_SYNTHETIC_CENTRES = 4
STREAM_SYNTHETIC_EXAMPLES = 5


class SplitMix64:
    """SplitMix64 started from ``seed * 2**32 + stream`` (both unsigned 32-bit)."""

    def __init__(self, seed: int, stream: int = 0):
        for name, value in (("seed", seed), ("stream", stream)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
                raise ValueError(f"Expected `{name}` to be an unsigned 32-bit integer, got {value!r}")
        self.state = (seed << 32) | stream

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, bound: int) -> int:
        """Uniform integer in ``[0, bound)`` (unbiased: rejection of the incomplete last block)."""
        if bound < 1:
            raise ValueError(f"Expected `bound` >= 1, got {bound}")
        limit = (1 << 64) - ((1 << 64) % bound)
        while True:
            value = self.next()
            if value < limit:
                return value % bound

    def permutation(self, n: int) -> List[int]:
        """A uniformly random permutation of ``range(n)`` (Fisher-Yates)."""
        items = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
        return items


def round_half_up(x: float) -> int:
    """``floor(x + 0.5)``: the rounding used for every count (Python's ``round`` rounds half to even)."""
    import math

    return int(math.floor(x + 0.5))
