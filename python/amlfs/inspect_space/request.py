"""``amlfs inspect-space``'s Python side: a JSON-able request in, a JSON-able answer out.

Request (every field JSON)::

    {"M": int,                                   # intervals; every theta has 4 M numbers
     "forms": {name: {"mu": [4 M], "thetas": [[4 M], ...],     # losses as trained (mapped)
                      "tauForm"?: "linear" | "power"}},            # the loss option tau_form
     "experiment"?: config,                      # for the default classes and scale (setting.py)
     "classes"?: int >= 2, "scale"?: number > 0 | "linear",   # override the config's
     "examples"?: int (256), "dim"?: int (512), "seed"?: int (0),   # random start inputs
     "cosines"?: {"cosine": [[...]], "target": [...], "scale": number | [[...]]}}  # or given ones

Answer::

    {"setting": {"classes", "classesFrom", "scale", "scaleFrom", "inputs": "random" | "given",
                 "examples", "dim", "seed", "meanTargetScale", "medianTargetProbability"},
     "thresholds": {"deadRatio", "deadC"},
     "forms": {name: {"mu": {"gradNorm", "floored", "dead"},
                      "samples": [{"gradNorm", "ratio", "floored", "dead"}],
                      "summary": form_summary(...)}}}

``medianTargetProbability`` is the median over the examples of plain softmax's target
probability ``softmax(s cos)_y`` (where a tiny ``p`` puts every example in tau's first
interval); ``meanTargetScale`` the mean of the target's scale ``s_y``.
"""
from __future__ import annotations

import json
import math
from typing import Any, Dict, Mapping

import torch

from ..loss import LossInputError
from .cosines import given_start, random_start
from .errors import InspectError
from .gradients import DEAD_C, DEAD_RATIO, form_summary, ratio, theta_stats
from .setting import LINEAR, start_setting

DEFAULT_EXAMPLES = 256
DEFAULT_DIM = 512


def inspect_space(request: Mapping[str, Any]) -> Dict[str, Any]:
    """The answer to ``request`` (see the module docstring); InspectError naming the field."""
    if not isinstance(request, Mapping):
        raise InspectError(f"Expected the inspect-space request to be an object, got {type(request).__name__}")
    num_intervals = request.get("M")
    if isinstance(num_intervals, bool) or not isinstance(num_intervals, int) or num_intervals < 1:
        raise InspectError(f"`M`: expected an integer >= 1, got {num_intervals!r}")
    forms = _forms(request.get("forms"), num_intervals)
    inputs, setting = _inputs(request)
    column = inputs.target.unsqueeze(1)
    p = torch.softmax(inputs.cosine * inputs.scale, dim=1).gather(1, column)
    s_y = inputs.scale.expand(inputs.cosine.shape).gather(1, column).mean() if isinstance(inputs.scale, torch.Tensor) \
        else inputs.scale
    setting["medianTargetProbability"] = float(p.median())
    setting["meanTargetScale"] = float(s_y)
    answer = {}
    for name, form in forms.items():
        tau_form = form.get("tauForm", "linear")
        try:
            mu = theta_stats(inputs, form["mu"], num_intervals, tau_form)
        except LossInputError as error:
            raise InspectError(f"`forms.{name}`: {error}") from error
        samples = []
        for theta in form["thetas"]:
            stats = theta_stats(inputs, theta, num_intervals, tau_form)
            samples.append({**stats, "ratio": ratio(stats["gradNorm"], mu["gradNorm"])})
        answer[name] = {"mu": mu, "samples": samples, "summary": form_summary(samples)}
    return {"setting": setting, "thresholds": {"deadRatio": DEAD_RATIO, "deadC": DEAD_C}, "forms": answer}


def inspect_space_json(request: str) -> str:
    """:func:`inspect_space` with JSON strings in and out (for the TypeScript side, through pythonia)."""
    try:
        body = json.loads(request)
    except (TypeError, ValueError) as error:
        raise InspectError(f"Expected the inspect-space request to be JSON, got {request!r:.80}") from error
    return json.dumps(inspect_space(body), allow_nan=False)


def _forms(forms: Any, num_intervals: int) -> Dict[str, Dict[str, Any]]:
    if not isinstance(forms, Mapping) or not forms:
        raise InspectError(f"`forms`: expected a non-empty object of name -> {{mu, thetas}}, got {forms!r:.80}")
    width = 4 * num_intervals
    for name, form in forms.items():
        thetas = form.get("thetas") if isinstance(form, Mapping) else None
        if not isinstance(thetas, list) or not thetas:
            raise InspectError(f"`forms.{name}.thetas`: expected a non-empty list of thetas, got {thetas!r:.80}")
        for where, theta in [("mu", form.get("mu")), *((f"thetas[{k}]", t) for k, t in enumerate(thetas))]:
            if not isinstance(theta, list) or len(theta) != width or not all(_finite(v) for v in theta):
                raise InspectError(f"`forms.{name}.{where}`: expected 4 M = {width} finite numbers, got {theta!r:.80}")
    return dict(forms)


def _inputs(request: Mapping[str, Any]):
    """The start inputs and the setting they describe."""
    if request.get("cosines") is not None:
        for field in ("classes", "scale", "examples", "dim", "seed"):
            if request.get(field) is not None:
                raise InspectError(f"`{field}`: expected none with `cosines` (they fix the classes, scale and examples)")
        inputs = given_start(request["cosines"])
        n, c = inputs.cosine.shape
        scale = inputs.scale if isinstance(inputs.scale, float) else "tensor"
        return inputs, {"classes": c, "classesFrom": "cosines", "scale": scale, "scaleFrom": "cosines",
                        "inputs": "given", "examples": n, "dim": None, "seed": None}
    classes, scale = request.get("classes"), request.get("scale")
    config = start_setting(request.get("experiment") or {}) if classes is None or scale is None else None
    setting = {
        "classes": config.classes if classes is None else classes,
        "classesFrom": config.classes_from if classes is None else "request",
        "scale": config.scale if scale is None else (float(scale) if _finite(scale) else scale),
        "scaleFrom": config.scale_from if scale is None else "request",
        "inputs": "random",
        "examples": request.get("examples", DEFAULT_EXAMPLES),
        "dim": request.get("dim", DEFAULT_DIM),
        "seed": request.get("seed", 0),
    }
    inputs = random_start(setting["classes"], setting["scale"], setting["examples"], setting["dim"], setting["seed"])
    return inputs, setting


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


__all__ = ["DEFAULT_DIM", "DEFAULT_EXAMPLES", "LINEAR", "inspect_space", "inspect_space_json"]
