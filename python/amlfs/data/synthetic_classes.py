"""``synthetic-classes``: many classes of Gaussian clouds around random unit centres, generated from a seed.

A built-in task shaped like face recognition (thousands of identities, few images each), so
the target probability ``p`` starts near ``1 / C``, yet cheap enough on a CPU for many
searches. Nothing is read from disk (``dataset.root`` stays empty); the sizes come from
:class:`SyntheticClassesSpec` (the ``cosine-mlp`` baseline's options).

- Class ``c`` has the centre ``mu_c = g_c / ||g_c||``, ``g_c ~ N(0, I_D)``: a random unit
  vector in ``R^D``.
- An example of class ``c`` is ``mu_c + noise_std * n``, ``n ~ N(0, I_D)``; ``noise_std`` is
  per coordinate, in units of the centre's norm.
- Each class has ``train_per_class`` examples in the training pool (``load_dataset`` carves
  ``dataset.splits.valFraction`` of them out as the validation split, and applies
  ``dataset.labelNoise`` to the rest) and ``test_per_class`` in the test split. Rows go
  round-robin over the classes: example ``k`` of class ``c`` is row ``k * C + c``.
- Everything follows from ``dataset.splits.splitSeed``: the centres from SplitMix64 stream 4,
  the examples from stream 5 (:mod:`amlfs.data.normals`), so the data never depends on the
  search seed nor on NumPy's or torch's generators.

Stored like every classification set (:class:`~amlfs.data.image_set.ImageSet`): an example
is a 1 x 1 image with ``D`` uint8 channels, ``code = round((x + R) / (2 R) * 255)`` with
``R = 6 * sqrt(1 / D + noise_std**2)`` (six standard deviations of a coordinate). The step,
``2 R / 255``, is under 5 % of a coordinate's spread, and the codes are identical on every
platform (an ulp of ``log`` or ``cos`` almost never moves a code).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch

from .config import DatasetConfig
from .errors import DataError
from .image_set import ImageSet
from .normals import standard_normals
from .registry import RawDataset, register_dataset
from .rng import STREAM_SYNTHETIC_CENTRES, STREAM_SYNTHETIC_EXAMPLES

PIXEL_MAX = 255.0
CLIP_STDS = 6.0


@dataclass(frozen=True)
class SyntheticClassesSpec:
    """Sizes of the generated task. ``noise_std``: per coordinate, in units of a centre's (unit) norm."""

    classes: int = 1000
    dims: int = 32
    train_per_class: int = 24
    test_per_class: int = 6
    noise_std: float = 0.2

    def __post_init__(self):
        for field, least in (("classes", 2), ("dims", 1), ("train_per_class", 2), ("test_per_class", 1)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise DataError(f"synthetic-classes `{field}`: expected an integer >= {least}, got {value!r}")
        if not (isinstance(self.noise_std, (int, float)) and math.isfinite(self.noise_std) and self.noise_std > 0):
            raise DataError(f"synthetic-classes `noise_std`: expected a positive number, got {self.noise_std!r}")

    @property
    def code_range(self) -> float:
        """``R``: coordinates in ``[-R, R]`` map to codes ``0..255``."""
        return CLIP_STDS * math.sqrt(1.0 / self.dims + self.noise_std**2)


def class_centres(spec: SyntheticClassesSpec, seed: int) -> np.ndarray:
    """The unit centres, float64 ``[classes, dims]``."""
    g = standard_normals(seed, STREAM_SYNTHETIC_CENTRES, (spec.classes, spec.dims))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def synthetic_examples(spec: SyntheticClassesSpec, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(x float64 [K * C, D], labels int64 [K * C])`` with ``K = train_per_class + test_per_class``, round-robin."""
    per_class = spec.train_per_class + spec.test_per_class
    noise = standard_normals(seed, STREAM_SYNTHETIC_EXAMPLES, (per_class, spec.classes, spec.dims))
    x = class_centres(spec, seed)[None, :, :] + spec.noise_std * noise
    labels = np.tile(np.arange(spec.classes, dtype=np.int64), per_class)
    return x.reshape(-1, spec.dims), labels


def to_codes(x: np.ndarray, spec: SyntheticClassesSpec) -> torch.Tensor:
    """float64 ``[N, D]`` to uint8 ``[N, D, 1, 1]``: ``floor((x + R) / (2 R) * 255 + 1/2)``, clipped to 0..255."""
    r = spec.code_range
    codes = np.clip(np.floor((x + r) / (2 * r) * PIXEL_MAX + 0.5), 0, PIXEL_MAX)
    return torch.from_numpy(codes.astype(np.uint8)).view(x.shape[0], x.shape[1], 1, 1)


@register_dataset("synthetic-classes")
def read_synthetic_classes(config: DatasetConfig, spec: SyntheticClassesSpec = SyntheticClassesSpec()) -> RawDataset:
    """The training pool (``train_per_class`` per class) and the test split (``test_per_class`` per class)."""
    if config.root:
        raise DataError(f"`dataset.root`: expected an empty path (synthetic-classes is generated, nothing is read), "
                        f"got {config.root!r}")
    x, labels = synthetic_examples(spec, config.split_seed)
    everything = ImageSet(to_codes(x, spec), torch.from_numpy(labels))
    pool_rows = spec.train_per_class * spec.classes
    pool = everything.subset(range(pool_rows))
    scaled = pool.images.double().view(pool_rows, spec.dims) / PIXEL_MAX
    return RawDataset(
        pool=pool,
        test=everything.subset(range(pool_rows, len(everything))),
        num_classes=spec.classes,
        pixel_max=PIXEL_MAX,
        mean=tuple(float(v) for v in scaled.mean(dim=0)),
        std=tuple(float(v) for v in scaled.std(dim=0)),
    )
