"""The ``dataset`` section of the experiment, as the data layer reads it (defaults as in src/schema)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .errors import DataError


@dataclass(frozen=True)
class DatasetConfig:
    kind: str
    root: str = ""
    val_fraction: float = 0.1
    split_seed: int = 0
    noise_ratio: float = 0.0
    noise_seed: int = 0

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> "DatasetConfig":
        """Read ``experiment["dataset"]``; a missing field takes the schema's default."""
        if not isinstance(section, Mapping) or "kind" not in section:
            raise DataError("`dataset.kind`: required field is missing")
        splits = section.get("splits") or {}
        noise: Optional[Mapping[str, Any]] = section.get("labelNoise")
        config = cls(
            kind=_typed(section["kind"], str, "dataset.kind"),
            root=_typed(section.get("root", ""), str, "dataset.root"),
            val_fraction=float(_typed(splits.get("valFraction", 0.1), (int, float), "dataset.splits.valFraction")),
            split_seed=_typed(splits.get("splitSeed", 0), int, "dataset.splits.splitSeed"),
            noise_ratio=float(_typed(noise.get("ratio", 0.0), (int, float), "dataset.labelNoise.ratio")) if noise else 0.0,
            noise_seed=_typed(noise.get("seed", 0), int, "dataset.labelNoise.seed") if noise else 0,
        )
        if not 0 < config.val_fraction < 1:
            raise DataError(f"`dataset.splits.valFraction`: expected a number in (0, 1), got {config.val_fraction}")
        if not 0 <= config.noise_ratio < 1:
            raise DataError(f"`dataset.labelNoise.ratio`: expected a number in [0, 1), got {config.noise_ratio}")
        return config


def _typed(value: Any, types, where: str):
    if isinstance(value, bool) or not isinstance(value, types):
        raise DataError(f"`{where}`: unexpected value {value!r}")
    return value
