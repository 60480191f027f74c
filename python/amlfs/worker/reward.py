"""Which metric is a task's reward, and its value: one rule for the built-in worker and :func:`epochs`."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ..task_errors import TaskFailed

#: The reward metric of an experiment that names none and a worker that knows no better. A
#: frozen config always names one (``reward.metric`` is required); this covers experiments
#: written by hand. The built-in worker passes its recipe's usual metric instead
#: (``Recipe.reward_metric``, e.g. ``mAP`` for re-ID).
DEFAULT_REWARD_METRIC = "top1"


def reward_metric(experiment: Mapping[str, Any], default: Optional[str] = None) -> str:
    """The experiment's ``reward.metric``; without one, ``default`` or :data:`DEFAULT_REWARD_METRIC`."""
    named = (experiment.get("reward") or {}).get("metric")
    if named is not None:
        return named
    return default if default is not None else DEFAULT_REWARD_METRIC


def reward_of(metrics: Mapping[str, float], metric: str) -> float:
    """``metrics[metric]`` as a float; :class:`TaskFailed` naming the metrics that ``evaluate`` (the
    script's, or ``Recipe.evaluate``) returned when it is missing."""
    if metric not in metrics:
        raise TaskFailed(f"evaluate() returned metrics {sorted(metrics)} without the reward metric {metric!r} "
                         "(`reward.metric` of the experiment)")
    return float(metrics[metric])
