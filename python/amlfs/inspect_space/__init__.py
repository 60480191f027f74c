"""``amlfs inspect-space``: how many of the losses a config samples train at the start of training.

Before spending GPU hours: for the first samples of a search (drawn and mapped by the
TypeScript side exactly as the run draws them), the gradient of the mean searched loss on
start-of-training cosines, relative to mu_0's, and the shares of floored and dead
examples (docs/inspect-space.md). Modules: :mod:`.setting` (a config's classes and scale),
:mod:`.cosines` (random or given inputs), :mod:`.gradients` (per-theta numbers),
:mod:`.request` (JSON in, JSON out).
"""
from .cosines import StartInputs, given_start, random_start
from .errors import InspectError
from .gradients import DEAD_C, DEAD_RATIO, form_summary, theta_stats
from .request import inspect_space, inspect_space_json
from .setting import LINEAR, StartSetting, start_classes, start_scale, start_setting

__all__ = [
    "DEAD_C",
    "DEAD_RATIO",
    "LINEAR",
    "InspectError",
    "StartInputs",
    "StartSetting",
    "form_summary",
    "given_start",
    "inspect_space",
    "inspect_space_json",
    "random_start",
    "start_classes",
    "start_scale",
    "start_setting",
    "theta_stats",
]
