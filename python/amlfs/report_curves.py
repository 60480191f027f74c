"""Curves of a searched loss for the figures of ``amlfs report`` (AM-LFS, Li et al., ICCV 2019).

Everything here is computed by the code that trains, so a figure cannot drift from the loss:

- ``t(x)`` on the target cosine ``x`` in ``[-1, 1]`` (paper Eq. 15, Figure 1) with
  :func:`amlfs.loss.piecewise_linear`;
- ``tau(p)`` on the target probability ``p`` in ``[0, 1]`` (Eq. 16, Figure 1) as the loss
  uses it, i.e. ``exp(log tau_eff(p))`` under the validity policy of ``docs/algorithm.md``
  (:func:`amlfs.loss.effective_log_tau`), beside the raw ``a_tau p + b_tau``;
- ``|dL/df_y|``, the gradient magnitude on the target logit ``f_y = s x`` (Figure 4), by
  autograd through :func:`amlfs.loss.searched_softmax_loss` itself, in a fixed setting:
  one sample, ``C`` classes, the target cosine ``x`` swept over ``[-1, 1]``, every other
  cosine ``0`` (so every other logit is ``0``), a fixed scale ``s``. Then
  ``dL/df_y = (dL/dx) / s``; for the identity it is ``p - 1`` with
  ``p = e^{s x} / (e^{s x} + C - 1)``.

The piecewise-linear functions jump at interval edges; each grid gets both sides of every
interior edge (the first float64 the loss's interval rule puts in the next interval, and
the float64 just below it) so a plot shows the jumps.
``p = 0`` is evaluated at the smallest normal float64 (the loss takes ``log p``, which
must be finite).
"""
from __future__ import annotations

import json
import math
import sys
from typing import Dict, List, Mapping, Sequence

import torch

from .loss import LossInputError, SearchSpace, effective_log_tau, interval_index, piecewise_linear, searched_softmax_loss

DEFAULT_GRID_POINTS = 201
DEFAULT_NUM_CLASSES = 10
DEFAULT_SCALE = 10.0
_SMALLEST_P = sys.float_info.min  # 2.2e-308: log p finite, tau_eff(p) = its value at p -> 0


def edge_grid(lo: float, hi: float, num_intervals: int, grid_points: int) -> torch.Tensor:
    """Sorted float64 grid on ``[lo, hi]``: ``grid_points`` equal steps plus both sides of each interior edge.

    Returns:
        1-D float64 tensor, strictly increasing, first ``lo``, last ``hi``.
    """
    points = torch.linspace(lo, hi, grid_points, dtype=torch.float64).tolist()
    for i in range(1, num_intervals):
        edge = _first_of_interval(lo + (hi - lo) * i / num_intervals, i, lo, hi, num_intervals)
        points += [edge, math.nextafter(edge, -math.inf)]
    return torch.tensor(sorted(set(points)), dtype=torch.float64)


def _first_of_interval(guess: float, interval: int, lo: float, hi: float, num_intervals: int) -> float:
    """The smallest float64 the loss puts in ``interval``: bisection with the loss's own rule around ``guess``."""

    def index(value: float) -> int:
        return int(interval_index(torch.tensor([value], dtype=torch.float64), lo, hi, num_intervals))

    step = (hi - lo) / num_intervals / 4
    below, above = guess - step, guess + step  # index(below) < interval <= index(above)
    while True:
        middle = (below + above) / 2
        if middle in (below, above):
            return above
        if index(middle) < interval:
            below = middle
        else:
            above = middle


def loss_curves(
    theta: Sequence[float],
    *,
    num_intervals: int,
    grid_points: int = DEFAULT_GRID_POINTS,
    num_classes: int = DEFAULT_NUM_CLASSES,
    scale: float = DEFAULT_SCALE,
    tau_form: str = "linear",
) -> Dict[str, List]:
    """The ``t``, ``tau`` and gradient curves of one ``theta = [a_t, b_t, a_tau, b_tau]`` (``4 M`` floats).

    Args:
        theta: ``4 M`` finite numbers (a sequence or a 1-D tensor).
        num_intervals: ``M``.
        grid_points: equal steps of each grid (``>= 2``), before the edge points are added.
        num_classes: ``C >= 2`` of the gradient setting.
        scale: ``s > 0`` of the gradient setting (logit = ``s`` * cosine).
        tau_form: ``"linear"`` or ``"power"``, the loss's form of ``tau`` (the run's ``search.space``).

    Returns:
        JSON-able dict of lists of floats (bools for ``tauFloored``):
        ``x``, ``t`` (same length); ``p``, ``tau`` (effective, as the loss uses it),
        ``tauRaw`` (``a_tau p + b_tau``), ``tauFloored``; ``logit`` (``s x``, x on the
        ``x`` grid), ``gradMagnitude`` (``|dL/df_y|``), ``targetProbability`` (``p`` of
        that setting, before ``tau``).

    Raises:
        LossInputError naming ``theta``, ``grid_points``, ``num_classes`` or ``scale``.
    """
    space = SearchSpace(num_intervals)
    a_t, b_t, a_tau, b_tau = space.split(theta)
    _check_int("grid_points", grid_points, 2)
    _check_int("num_classes", num_classes, 2)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
        raise LossInputError(f"Expected `scale` to be a finite number > 0, got {scale!r}")
    scale = float(scale)

    x = edge_grid(-1.0, 1.0, num_intervals, grid_points)
    t = piecewise_linear(x, a_t, b_t, -1.0, 1.0)

    p = edge_grid(0.0, 1.0, num_intervals, grid_points)
    log_p = p.clamp_min(_SMALLEST_P).log()
    log_tau = effective_log_tau(log_p, a_tau, b_tau, tau_form)
    tau_raw = piecewise_linear(p, a_tau, b_tau, 0.0, 1.0)

    # One row per grid point: the target (class 0) at cosine x, the others at 0.
    cosine = torch.zeros(len(x), num_classes, dtype=torch.float64)
    cosine[:, 0] = x
    cosine.requires_grad_(True)
    target = torch.zeros(len(x), dtype=torch.int64)
    loss = searched_softmax_loss(cosine, target, space.check(theta), scale, "sum", num_intervals=num_intervals,
                                 tau_form=tau_form)
    (grad,) = torch.autograd.grad(loss, cosine)
    grad_logit = grad[:, 0] / scale
    target_p = torch.sigmoid(t * scale - math.log(num_classes - 1))  # e^f'_y / (e^f'_y + C - 1)

    return {
        "x": x.tolist(),
        "t": t.tolist(),
        "p": p.tolist(),
        "tau": log_tau.value.exp().tolist(),
        "tauRaw": tau_raw.tolist(),
        "tauFloored": log_tau.floored.tolist(),
        "logit": (x * scale).tolist(),
        "gradMagnitude": grad_logit.abs().tolist(),
        "targetProbability": target_p.tolist(),
    }


def curves_json(request: str) -> str:
    """JSON in, JSON out, for the TypeScript side (pythonia): several named ``theta`` at once.

    ``request``: ``{"M": int, "thetas": {name: [4 M numbers]}, "gridPoints"?: int,
    "numClasses"?: int, "scale"?: number, "tauForm"?: "linear" | "power"}``. Returns
    ``{"setting": {"M", "gridPoints", "numClasses", "scale", "tauForm"}, "curves": {name:
    loss_curves(...)}}`` as a JSON string.

    Raises:
        LossInputError naming the field (``thetas.<name>`` for a bad ``theta``).
    """
    try:
        body = json.loads(request)
    except (TypeError, ValueError) as error:
        raise LossInputError(f"Expected the curve request to be a JSON object, got {request!r:.80}") from error
    if not isinstance(body, Mapping):
        raise LossInputError(f"Expected the curve request to be a JSON object, got {type(body).__name__}")
    thetas = body.get("thetas")
    if not isinstance(thetas, Mapping) or not thetas:
        raise LossInputError(f"Expected `thetas` to be a non-empty object of name -> theta, got {thetas!r:.80}")
    setting = {
        "M": body.get("M"),
        "gridPoints": body.get("gridPoints", DEFAULT_GRID_POINTS),
        "numClasses": body.get("numClasses", DEFAULT_NUM_CLASSES),
        "scale": body.get("scale", DEFAULT_SCALE),
        "tauForm": body.get("tauForm", "linear"),
    }
    _check_int("M", setting["M"], 1)
    curves = {}
    for name, theta in thetas.items():
        try:
            curves[name] = loss_curves(
                theta,
                num_intervals=setting["M"],
                grid_points=setting["gridPoints"],
                num_classes=setting["numClasses"],
                scale=setting["scale"],
                tau_form=setting["tauForm"],
            )
        except LossInputError as error:
            raise LossInputError(f"thetas.{name}: {error}") from error
    return json.dumps({"setting": setting, "curves": curves}, allow_nan=False)


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise LossInputError(f"Expected `{name}` to be an integer >= {minimum}, got {value!r}")
