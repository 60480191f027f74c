"""Baselines register themselves by ``baseline.name``; the worker looks them up here.

A baseline is a function ``build(experiment, device) -> Recipe``. Registering is all it
takes to be driven by the built-in worker, to be enrolled in the smoke tests and to be
listed, with its datasets, reward metrics and option table, in ``proto/catalog.json``
(:mod:`amlfs.catalog`), which ``amlfs validate`` checks configs against.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Type

import torch

from .errors import BaselineError
from .options import Option, Presets, parse_options
from .recipe import Recipe

Builder = Callable[[Mapping[str, Any], torch.device], Recipe]


@dataclass(frozen=True)
class BaselineSpec:
    """A registered baseline: its name, builder, the dataset kinds it is meant for, the recipe class
    it builds (whose ``reward_metrics`` a config may name), its ``baseline.options`` table and, when it
    has named recipes (``baseline.options.recipe``), its :class:`Presets`."""

    name: str
    build: Builder
    datasets: Tuple[str, ...]
    recipe: Type[Recipe]
    options: Mapping[str, Option]
    presets: Optional[Presets] = None


_BASELINES: Dict[str, BaselineSpec] = {}


def register_baseline(name: str, datasets: Tuple[str, ...], recipe: Type[Recipe],
                      options: Mapping[str, Option], presets: Optional[Presets] = None) -> Callable[[Builder], Builder]:
    """Decorator registering ``build(experiment, device) -> Recipe`` as baseline ``name``."""

    def decorate(build: Builder) -> Builder:
        if name in _BASELINES:
            raise ValueError(f"baseline {name!r} is already registered")
        if presets is not None:
            presets.check(name, options)
        _BASELINES[name] = BaselineSpec(name, build, tuple(datasets), recipe, dict(options), presets)
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


def baseline_options(name: str, given: Mapping[str, Any]) -> Dict[str, Any]:
    """``given`` (``baseline.options``) of baseline ``name`` checked, with the defaults of its chosen
    recipe preset filled in: what its builder parses."""
    spec = get_baseline(name)
    return parse_options(name, given, spec.options, spec.presets)


def build_recipe(experiment: Mapping[str, Any], device: torch.device) -> Recipe:
    """The recipe of ``experiment["baseline"]["name"]`` on ``experiment["dataset"]``."""
    baseline = experiment.get("baseline") or {}
    spec = get_baseline(baseline.get("name"))
    kind = (experiment.get("dataset") or {}).get("kind")
    if kind not in spec.datasets:
        raise BaselineError(f"`dataset.kind`: baseline {spec.name} runs on {', '.join(spec.datasets)}, got {kind!r}")
    return spec.build(experiment, torch.device(device))
