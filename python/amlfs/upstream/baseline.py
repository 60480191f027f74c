"""``upstream``: a baseline run by its authors' own PyTorch code, through an adapter.

``baseline.options.adapter`` names the adapter (:data:`~amlfs.upstream.adapters.ADAPTERS`) and
``baseline.options.repo`` the user's checkout of its repository. The adapter imports the
repository's model, dataset, sampler, optimizer and schedule code, built as its training script
builds them, replaces only the softmax branch's loss with the searched loss, and trains one of
the repository's own epochs per task. The other options change the repository's values only
where a small machine or a small data set needs it (batch shape, loader processes); each
adapter's module says what it works around and how.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from ..baselines.errors import BaselineError
from ..baselines.options import boolean, int_or_null, non_negative_int, one_of, parse_options, path_or_null, positive_int
from ..baselines.recipe import Recipe
from ..baselines.registry import register_baseline
from .adapters import ADAPTERS, get_adapter
from .checkout import open_checkout

NAME = "upstream"


def _union(values):
    out = []
    for group in values:
        out.extend(v for v in group if v not in out)
    return tuple(out)


DATASETS = _union(adapter.datasets for adapter in ADAPTERS.values())
REWARD_METRICS = _union(adapter.reward_metrics for adapter in ADAPTERS.values())

OPTIONS = {
    # No default: a config names its adapter (the catalog's `null` fails the oneOf check).
    "adapter": one_of(None, tuple(ADAPTERS)),
    "repo": path_or_null(),
    "p": int_or_null(),
    "k": int_or_null(),
    "batchSize": int_or_null(),
    "pretrainedPath": path_or_null(),
    "numWorkers": non_negative_int(0),
    "evalBatchSize": positive_int(128),
    "strict": boolean(True),
}


class UpstreamRecipe(Recipe):
    """What every adapter's recipe is: the metrics any adapter offers (each adapter checks its own)."""

    reward_metric = REWARD_METRICS[0]
    reward_metrics = REWARD_METRICS


@register_baseline(NAME, datasets=DATASETS, recipe=UpstreamRecipe, options=OPTIONS)
def build_upstream(experiment: Mapping[str, Any], device: torch.device) -> Recipe:
    options = parse_options(NAME, experiment["baseline"].get("options", {}), OPTIONS)
    adapter = get_adapter(options["adapter"])
    kind = (experiment.get("dataset") or {}).get("kind")
    if kind not in adapter.datasets:
        raise BaselineError(f"`dataset.kind`: adapter {adapter.name} runs on {', '.join(adapter.datasets)}, got {kind!r}")
    metric = (experiment.get("reward") or {}).get("metric")
    if metric is not None and metric not in adapter.reward_metrics:
        raise BaselineError(f"`reward.metric`: adapter {adapter.name} offers {', '.join(adapter.reward_metrics)}, "
                            f"got {metric!r}")
    checkout = open_checkout(adapter.repo, options["repo"])
    return adapter.builder()(experiment, device, checkout, options)
