"""How much one loss ``theta`` trains at the start: its gradient on the cosines, floored and dead examples.

For inputs ``(cosine [N, C], target [N], scale)`` and a loss ``theta`` (``4 M`` numbers,
already mapped by the space form, i.e. what the workers train) with its ``tau_form``:

- ``gradNorm``: the Frobenius norm of ``d L / d cosine`` (``[N, C]``), ``L`` the *mean*
  searched loss over the ``N`` examples, by autograd through
  :func:`amlfs.searched_softmax_loss` itself (the code that trains). The scale is held
  fixed, so the loss option ``t_scale_grad`` (it only changes the gradient of a tensor
  scale) plays no part. Units: loss per unit cosine.
- ``floored``: the share of examples whose ``tau`` is floored (loss constant, gradient 0).
- ``dead``: the share of examples whose gradient factor ``c`` (``a_tau p / tau(p)``; ``a_tau[i]``
  under the power tau) is below
  ``DEAD_C = 0.01`` (floored ones have ``c = 0``; a negative ``c`` pushes the wrong way and
  counts as dead too).

A *dead sample* is one whose ``gradNorm`` is below ``DEAD_RATIO = 0.01`` of mu's.
"""
from __future__ import annotations

import statistics
from typing import Dict, List, Optional, Sequence

import torch

from ..loss import searched_softmax_loss, searched_softmax_terms
from .cosines import StartInputs

DEAD_C = 0.01
DEAD_RATIO = 0.01


def theta_stats(inputs: StartInputs, theta: Sequence[float], num_intervals: int,
                tau_form: str = "linear") -> Dict[str, float]:
    """``{"gradNorm", "floored", "dead"}`` of one loss ``theta`` on ``inputs`` (see the module docstring).

    ``tau_form``: the loss option of that name (``"linear"``, Eq. 16; ``"power"``).
    """
    cosine = inputs.cosine.detach().clone().requires_grad_(True)
    theta = torch.tensor(list(theta), dtype=torch.float64)
    loss = searched_softmax_loss(cosine, inputs.target, theta, inputs.scale, "mean", num_intervals=num_intervals,
                                 tau_form=tau_form)
    (grad,) = torch.autograd.grad(loss, cosine)
    terms = searched_softmax_terms(inputs.cosine, inputs.target, theta, inputs.scale, num_intervals=num_intervals,
                                   tau_form=tau_form)
    return {
        "gradNorm": float(grad.norm()),
        "floored": float(terms.log_tau.floored.double().mean()),
        "dead": float((terms.log_tau.c < DEAD_C).double().mean()),
    }


def ratio(grad_norm: float, mu_grad_norm: float) -> Optional[float]:
    """``grad_norm / mu_grad_norm``; None when mu's gradient is exactly 0 (no reference)."""
    return None if mu_grad_norm == 0.0 else grad_norm / mu_grad_norm


def form_summary(samples: List[Dict[str, Optional[float]]]) -> Dict[str, Optional[float]]:
    """Over the samples of one form (each with ``ratio``, ``floored``, ``dead``):

    ``samples`` (K), ``deadSamples`` (how many have ``ratio < DEAD_RATIO``),
    ``deadSampleShare`` (that over K), ``medianRatio``, ``minRatio`` (None when mu's
    gradient is 0), ``meanFloored``, ``meanDead`` (mean shares of examples).
    """
    ratios = [s["ratio"] for s in samples]
    known = all(r is not None for r in ratios)
    dead = sum(1 for r in ratios if r is not None and r < DEAD_RATIO)
    return {
        "samples": len(samples),
        "deadSamples": dead if known else None,
        "deadSampleShare": dead / len(samples) if known else None,
        "medianRatio": statistics.median(ratios) if known else None,
        "minRatio": min(ratios) if known else None,
        "meanFloored": statistics.fmean(s["floored"] for s in samples),
        "meanDead": statistics.fmean(s["dead"] for s in samples),
    }
