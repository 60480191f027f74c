"""The catalog (``proto/catalog.json``): what the Python registries offer, for the TypeScript
side to check configs against before any worker starts.

- ``baselines``: each registered baseline's dataset kinds, default and allowed reward metrics
  (its recipe's), and ``baseline.options`` table (``{kind, default, expected, choices?}``,
  see :mod:`amlfs.baselines.options`);
- ``datasets``: each dataset kind (the classification, re-ID and face readers), whether it is
  built in, whether ``dataset.labelNoise`` applies (classification readers corrupt training
  labels; re-ID and face readers refuse it), the reward metrics of the baselines that run on
  it, and the on-disk layout its reader needs (:mod:`amlfs.data.disk_layout`).

Written by ``tools/make_catalog.py``; ``make check-generated`` fails when it drifts.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from .baselines import baseline_names, get_baseline
from .data import dataset_kinds
from .data.disk_layout import DiskLayout
from .data.face import KIND as FACE_KIND
from .data.face.layout import FACE_LAYOUT
from .data.registry import dataset_layout
from .data.reid import REID_LAYOUTS
from .data.reid_registry import reid_kinds
from .upstream.adapters import ADAPTERS, Adapter
from .upstream.baseline import NAME as UPSTREAM

CATALOG_FILE = "proto/catalog.json"
DESCRIPTION = ("Baselines, dataset kinds, reward metrics, baseline option tables and dataset layouts, generated "
               "from the Python registries by tools/make_catalog.py (do not edit); read by src/schema/catalog.ts.")


def dataset_disk_layouts() -> Dict[str, Optional[DiskLayout]]:
    """Every dataset kind with a reader -> what it reads under ``dataset.root`` (None: built in)."""
    layouts: Dict[str, Optional[DiskLayout]] = {kind: dataset_layout(kind) for kind in dataset_kinds()}
    layouts.update({kind: REID_LAYOUTS[kind].disk for kind in reid_kinds()})
    layouts[FACE_KIND] = FACE_LAYOUT
    return layouts


def _baseline(name: str) -> Dict[str, Any]:
    spec = get_baseline(name)
    return {
        "datasets": list(spec.datasets),
        "rewardMetric": spec.recipe.reward_metric,
        "rewardMetrics": list(spec.recipe.reward_metrics),
        "options": {option: rule.describe() for option, rule in spec.options.items()},
    }


def build_catalog() -> Dict[str, Any]:
    baselines = {name: _baseline(name) for name in baseline_names()}
    adapters = {name: _adapter(adapter) for name, adapter in ADAPTERS.items()}
    # What each dataset can be scored by: the built-in baselines' metrics and, for `upstream`,
    # each adapter's own (not the union the `upstream` entry lists).
    offers = [b for name, b in baselines.items() if name != UPSTREAM] + list(adapters.values())
    classification = set(dataset_kinds())
    datasets = {}
    for kind, layout in dataset_disk_layouts().items():
        metrics: List[str] = []
        for offer in offers:
            if kind in offer["datasets"]:
                metrics.extend(m for m in offer["rewardMetrics"] if m not in metrics)
        datasets[kind] = {
            "builtIn": layout is None,
            "labelNoise": kind in classification,
            "rewardMetrics": metrics,
            "layout": None if layout is None else layout.describe(),
        }
    return {"description": DESCRIPTION, "baselines": baselines, "datasets": datasets, "upstreamAdapters": adapters}


def _adapter(adapter: Adapter) -> Dict[str, Any]:
    """An upstream adapter (baseline ``upstream``): its repository, the files a checkout must have,
    the commit it was tested at, its datasets and reward metrics, and what the workers' Python needs."""
    return {
        "repository": adapter.repo.name,
        "url": adapter.repo.url,
        "testedCommit": adapter.repo.tested_commit,
        "files": list(adapter.repo.files),
        "datasets": list(adapter.datasets),
        "rewardMetrics": list(adapter.reward_metrics),
        "needs": list(adapter.needs),
    }


def render_catalog() -> str:
    """The file's text: keys sorted, two-space indentation, a trailing newline."""
    return json.dumps(build_catalog(), indent=2, sort_keys=True, allow_nan=False) + "\n"
