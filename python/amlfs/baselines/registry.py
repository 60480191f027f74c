"""Baselines register themselves by ``baseline.name``; the worker looks them up here.

A baseline is a function ``build(experiment, device) -> Recipe``. Registering is all it
takes to be driven by the built-in worker and to be enrolled in the smoke tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Tuple

import torch

from .errors import BaselineError
from .recipe import Recipe

Builder = Callable[[Mapping[str, Any], torch.device], Recipe]


@dataclass(frozen=True)
class BaselineSpec:
    """A registered baseline: its name, builder and the dataset kinds it is meant for."""

    name: str
    build: Builder
    datasets: Tuple[str, ...]


_BASELINES: Dict[str, BaselineSpec] = {}


def register_baseline(name: str, datasets: Tuple[str, ...]) -> Callable[[Builder], Builder]:
    """Decorator registering ``build(experiment, device) -> Recipe`` as baseline ``name``."""

    def decorate(build: Builder) -> Builder:
        if name in _BASELINES:
            raise ValueError(f"baseline {name!r} is already registered")
        _BASELINES[name] = BaselineSpec(name, build, tuple(datasets))
        return build

    return decorate


def baseline_names() -> List[str]:
    return sorted(_BASELINES)


def get_baseline(name: str) -> BaselineSpec:
    spec = _BASELINES.get(name)
    if spec is None:
        raise BaselineError(f"`baseline.name`: {name!r} is not available in this version "
                            f"(available: {', '.join(baseline_names())})")
    return spec


def build_recipe(experiment: Mapping[str, Any], device: torch.device) -> Recipe:
    """The recipe of ``experiment["baseline"]["name"]`` on ``experiment["dataset"]``."""
    baseline = experiment.get("baseline") or {}
    spec = get_baseline(baseline.get("name"))
    kind = (experiment.get("dataset") or {}).get("kind")
    if kind not in spec.datasets:
        raise BaselineError(f"`dataset.kind`: baseline {spec.name} runs on {', '.join(spec.datasets)}, got {kind!r}")
    return spec.build(experiment, torch.device(device))
