"""Standard normals in bulk from :class:`~amlfs.data.rng.SplitMix64`, for data generated from a seed.

``splitmix64_block(seed, stream, n)`` is exactly the first ``n`` outputs of
``SplitMix64(seed, stream).next()``, computed with NumPy's ``uint64`` arithmetic (which
wraps modulo ``2**64`` as the generator does), so a million draws take milliseconds
instead of seconds and never depend on NumPy's or torch's own generators.

Each output gives a uniform ``u = (z >> 11) * 2**-53`` in ``[0, 1)`` (its top 53 bits), and
two uniforms one normal by Box-Muller, as the search's generator does (docs/algorithm.md,
"Random numbers"): ``sqrt(-2 ln(1 - u1)) * cos(2 pi u2)``. The integers are identical everywhere; ``log``
and ``cos`` may differ by an ulp between C libraries.
"""
from __future__ import annotations

from typing import Tuple, Union

import numpy as np

from .rng import SplitMix64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64_block(seed: int, stream: int, n: int) -> np.ndarray:
    """The first ``n`` outputs of ``SplitMix64(seed, stream)``: ``uint64 [n]``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"Expected `n` to be a non-negative integer, got {n!r}")
    start = np.uint64(SplitMix64(seed, stream).state)  # checks seed and stream
    z = np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN + start
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def standard_normals(seed: int, stream: int, shape: Union[int, Tuple[int, ...]]) -> np.ndarray:
    """float64 normals of ``shape``, row-major, from ``2 * prod(shape)`` outputs of ``(seed, stream)``.

    Normal ``i`` uses outputs ``2i`` (``u1``) and ``2i + 1`` (``u2``).
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    count = int(np.prod(shape, dtype=np.int64))
    u = (splitmix64_block(seed, stream, 2 * count) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    u1, u2 = 1.0 - u[0::2], u[1::2]
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)).reshape(shape)
