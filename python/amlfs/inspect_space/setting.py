"""The training setting a config starts in: how many classes its classifier has, and its logit scale.

This is the one place that maps a config to ``(C, s)`` for ``amlfs inspect-space``:

- **classes** from ``dataset.kind``: ``digits`` 10, ``cifar10-bin`` 10, ``market1501`` 751,
  ``dukemtmc-reid`` 702 (the training identities of the benchmarks), ``casia-webface`` 10,575,
  ``synthetic-classes`` the ``cosine-mlp`` option ``classes`` (default 1,000). The run's
  classifier has ``dataset.splits.valFraction`` fewer identities on the re-ID and face sets
  (held out for the reward); that changes ``p`` at the start by a few per cent only.
- **scale** from ``baseline``, parsed as the baseline itself parses its options (so a
  config that sets one is honoured, and a bad one raises the baseline's own error):
  ``spherereid`` (14), ``sft`` (15), ``cosine-mlp`` (30): the option ``scale``;
  ``cosface``: the ``scale`` of its head (``headOptions``; the searched head's default is 30),
  a head without one (``softmax``) is a plain linear head;
  ``small-cnn``, ``resnet20``, ``mgn``: a plain linear head, ``"linear"``: the scale is the
  tensor ``||W_j|| ||x||`` (``amlfs.baselines.cosine_and_scale``).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, NamedTuple, Union

from ..baselines import cosface
from ..baselines.errors import BaselineError
from ..baselines.registry import baseline_options
from ..data import SyntheticClassesSpec
from ..heads.errors import HeadError
from ..heads.registry import parse_head_options
from .errors import InspectError

LINEAR = "linear"
Scale = Union[float, str]  # a number s > 0, or LINEAR

CLASSES_BY_DATASET: Dict[str, int] = {
    "digits": 10,
    "cifar10-bin": 10,
    "market1501": 751,
    "dukemtmc-reid": 702,
    "casia-webface": 10_575,
}


class StartSetting(NamedTuple):
    """``classes`` (C >= 2), ``scale`` (a number, or ``"linear"``) and where each came from (readable)."""

    classes: int
    classes_from: str
    scale: Scale
    scale_from: str


def _options(experiment: Mapping[str, Any]) -> Mapping[str, Any]:
    return (experiment.get("baseline") or {}).get("options") or {}


def _option_scale(name: str, options: Mapping[str, Any]) -> Scale:
    return float(baseline_options(name, options)["scale"])


def _cosface_scale(options: Mapping[str, Any]) -> Scale:
    parsed = baseline_options("cosface", options)
    try:
        head = parse_head_options(parsed["head"], parsed["headOptions"])
    except HeadError as error:  # named as the cosface baseline names it (make_face_net)
        raise BaselineError(str(error).replace("`head.options", "`baseline.options.headOptions")) from error
    return float(head["scale"]) if "scale" in head else LINEAR


_SCALE_BY_BASELINE: Dict[str, Callable[[Mapping[str, Any]], Scale]] = {
    "small-cnn": lambda options: LINEAR,
    "resnet20": lambda options: LINEAR,
    "mgn": lambda options: LINEAR,
    "spherereid": lambda options: _option_scale("spherereid", options),
    "sft": lambda options: _option_scale("sft", options),
    "cosine-mlp": lambda options: _option_scale("cosine-mlp", options),
    "cosface": _cosface_scale,
}


def start_classes(experiment: Mapping[str, Any]) -> int:
    """``C`` of the config's classifier (see the module docstring); InspectError for an unknown ``dataset.kind``."""
    kind = (experiment.get("dataset") or {}).get("kind")
    if kind == "synthetic-classes":
        options = _options(experiment)
        if (experiment.get("baseline") or {}).get("name") == "cosine-mlp":
            return int(baseline_options("cosine-mlp", options)["classes"])
        return SyntheticClassesSpec().classes
    if kind not in CLASSES_BY_DATASET:
        known = ", ".join(sorted([*CLASSES_BY_DATASET, "synthetic-classes"]))
        raise InspectError(f"`dataset.kind`: expected one of {known}, got {kind!r}")
    return CLASSES_BY_DATASET[kind]


def start_scale(experiment: Mapping[str, Any]) -> Scale:
    """``s`` of the config's head, or ``"linear"`` (see the module docstring); BaselineError for a bad option."""
    name = (experiment.get("baseline") or {}).get("name")
    if name not in _SCALE_BY_BASELINE:
        raise InspectError(f"`baseline.name`: expected one of {', '.join(sorted(_SCALE_BY_BASELINE))}, got {name!r}")
    return _SCALE_BY_BASELINE[name](_options(experiment))


def start_setting(experiment: Mapping[str, Any]) -> StartSetting:
    """Classes and scale of ``experiment`` (a validated config, as JSON), with where each came from."""
    kind = (experiment.get("dataset") or {}).get("kind")
    baseline = (experiment.get("baseline") or {}).get("name")
    scale = start_scale(experiment)
    head = _options(experiment).get("head", cosface.OPTIONS["head"].default) if baseline == "cosface" else None
    where = f"{baseline} head {head!r}" if head is not None else str(baseline)
    return StartSetting(start_classes(experiment), f"dataset.kind {kind}", scale,
                        f"{where}, plain linear head" if scale == LINEAR else where)
