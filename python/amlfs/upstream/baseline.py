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
from ..baselines.options import (boolean, int_or_null, non_negative_int, one_of, parse_options, path_or_null,
                                 positive_int, sourced)
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

_OWN = "null: the repository's own value; set it only where a small data set or machine needs it"
OPTIONS = {
    # No default: a config names its adapter (the catalog's `null` fails the oneOf check).
    "adapter": sourced(one_of(None, tuple(ADAPTERS)), "the config names it"),
    "repo": sourced(path_or_null(), "the config names it: your checkout of the adapter's repository"),
    "p": sourced(int_or_null(), _OWN + " (identities per batch)"),
    "k": sourced(int_or_null(), _OWN + " (images per identity)"),
    "batchSize": sourced(int_or_null(), _OWN + " (images per batch, face)"),
    "pretrainedPath": sourced(path_or_null(), "ours: the repositories download ImageNet weights when the model is "
                                              "built; the adapters load this local file instead (null: from scratch)"),
    "numWorkers": sourced(non_negative_int(0), "ours: data loader processes (the repositories use 4 to 8)"),
    "evalBatchSize": sourced(positive_int(128), "ours: evaluation batch size (does not change the result)"),
    "strict": sourced(boolean(True), "ours: check the data set's official counts (false for fixtures)"),
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
