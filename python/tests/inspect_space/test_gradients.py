"""theta_stats against an independent float64 re-implementation differentiated by autograd, and the identity."""
import math
import random

import pytest
import torch

from amlfs.inspect_space import DEAD_C, StartInputs, form_summary, random_start, theta_stats
from amlfs.inspect_space.gradients import ratio

M = 3
FLOOR = 1e-6


def power_log_k(a_tau):
    """``log K_i`` of the power tau ``K_i p^a_i``: continuous at the edges ``i / M``, ``tau(1) = 1``."""
    log_k = [0.0] * M
    for i in range(M - 1, 0, -1):
        log_k[i - 1] = log_k[i] + (a_tau[i] - a_tau[i - 1]) * math.log(i / M)
    return log_k


def reference(inputs: StartInputs, theta, tau_form="linear"):
    """``(|d mean L / d cosine|, floored share, share with c < DEAD_C)``, written from docs/algorithm.md.

    Per example, plain float64 torch ops on scalars: ``f_j = s_j cos_j``, ``f'_y = s_y t(cos_y)``,
    ``p = softmax(f')_y``, ``tau = a p + b`` on p's interval, ``L = -log tau`` (floored at 1e-6
    off the positive pieces, where it is a constant); under ``tau_form = "power"``
    ``tau = K_i p^a_i`` (never floored, ``c = a_i``). The gradient by autograd.
    """
    a_t, b_t, a_tau, b_tau = (theta[k * M:(k + 1) * M] for k in range(4))
    cosine = inputs.cosine.detach().clone().requires_grad_(True)
    n, c = cosine.shape
    scale = torch.as_tensor(inputs.scale, dtype=torch.float64).expand(n, c)
    losses, floored, dead = [], 0, 0
    for row in range(n):
        y = int(inputs.target[row])
        x = cosine[row, y]
        i = min(max(math.floor((float(x.detach()) + 1) / 2 * M), 0), M - 1)
        logits = [scale[row, j] * cosine[row, j] for j in range(c)]
        logits[y] = scale[row, y] * (a_t[i] * x + b_t[i])
        stacked = torch.stack(logits)
        p = torch.exp(stacked[y] - torch.logsumexp(stacked, 0))
        k = min(max(math.floor(float(p.detach()) * M), 0), M - 1)
        if tau_form == "power":
            losses.append(-(a_tau[k] * torch.log(p) + power_log_k(a_tau)[k]))
            dead += a_tau[k] < DEAD_C
            continue
        tau = a_tau[k] * p + b_tau[k]
        positive = a_tau[k] > 0 and b_tau[k] >= 0
        if not positive and float(tau.detach()) < FLOOR:
            losses.append(torch.tensor(-math.log(FLOOR), dtype=torch.float64))
            floored += 1
            dead += 1
            continue
        losses.append(-torch.log(tau))
        dead += float((a_tau[k] * p / tau).detach()) < DEAD_C
    mean = torch.stack(losses).mean()
    norm = float(torch.autograd.grad(mean, cosine)[0].norm()) if mean.requires_grad else 0.0  # all floored: constant
    return norm, floored / n, dead / n


def tiny_inputs(scale):
    generator = torch.Generator().manual_seed(3)
    cosine = torch.rand(7, 5, generator=generator, dtype=torch.float64) * 2 - 1
    target = torch.randint(0, 5, (7,), generator=generator)
    return StartInputs(cosine, target, scale)


def identity():
    return [1.0] * M + [0.0] * M + [1.0] * M + [0.0] * M


@pytest.mark.parametrize("tau_form", ["linear", "power"])
@pytest.mark.parametrize("scale", [3.0, "tensor"])
@pytest.mark.parametrize("seed", range(6))
def test_matches_the_autograd_reference(scale, seed, tau_form):
    rng = random.Random(seed)
    if scale == "tensor":
        scale = torch.rand(7, 5, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + 0.5
    inputs = tiny_inputs(scale)
    theta = [v + rng.gauss(0, 0.6) for v in identity()]
    theta[3 * M] = rng.choice([0.0, 0.05, -0.05, theta[3 * M]])  # b_tau[0]: none, flattening, flooring
    if tau_form == "power":
        theta[2 * M + rng.randrange(M)] = 0.005  # a nearly flat piece: c < DEAD_C where p lies in it
    got = theta_stats(inputs, theta, M, tau_form)
    norm, floored, dead = reference(inputs, theta, tau_form)
    assert got["gradNorm"] == pytest.approx(norm, rel=1e-9, abs=1e-15)
    assert got["floored"] == floored
    assert got["dead"] == dead


@pytest.mark.parametrize("a_tau0, b_tau0", [(1.0, 0.5), (-0.5, 0.5)])  # flattened (c = p / (p + b)), reversed (c < 0)
def test_dead_examples_that_are_not_floored(a_tau0, b_tau0):
    inputs = tiny_inputs(20.0)  # most target probabilities are tiny
    theta = identity()
    theta[2 * M], theta[3 * M] = a_tau0, b_tau0
    got = theta_stats(inputs, theta, M)
    norm, floored, dead = reference(inputs, theta)
    assert got["gradNorm"] == pytest.approx(norm, rel=1e-9)
    assert (got["floored"], got["dead"]) == (floored, dead)
    assert floored == 0 and dead > 0.5


def test_the_reference_can_tell_a_floored_batch():
    inputs = tiny_inputs(3.0)
    theta = identity()
    theta[2 * M:3 * M] = [1.0] * M
    theta[3 * M:] = [-2.0] * M  # tau = p - 2 < 0 everywhere: every example floored
    got = theta_stats(inputs, theta, M)
    assert got == {"gradNorm": 0.0, "floored": 1.0, "dead": 1.0}
    assert reference(inputs, theta) == (0.0, 1.0, 1.0)


@pytest.mark.parametrize("scale", [30.0, "linear"])
def test_identity_is_its_own_reference(scale):
    inputs = random_start(100, scale, 16, 8, seed=1)
    mu = theta_stats(inputs, identity(), M)
    again = theta_stats(inputs, identity(), M)
    assert ratio(again["gradNorm"], mu["gradNorm"]) == 1.0
    assert mu["floored"] == 0.0 and mu["dead"] == 0.0  # c = 1 exactly under the identity
    assert mu["gradNorm"] > 0


def test_summary_by_hand():
    samples = [
        {"ratio": 1.5, "floored": 0.0, "dead": 0.0},
        {"ratio": 0.005, "floored": 0.5, "dead": 1.0},
        {"ratio": 0.0, "floored": 1.0, "dead": 1.0},
        {"ratio": 0.2, "floored": 0.0, "dead": 0.5},
    ]
    assert form_summary(samples) == {
        "samples": 4, "deadSamples": 2, "deadSampleShare": 0.5, "medianRatio": pytest.approx(0.1025),
        "minRatio": 0.0, "meanFloored": 0.375, "meanDead": 0.625,
    }
    unknown = form_summary([{"ratio": None, "floored": 1.0, "dead": 1.0}])
    assert unknown["deadSamples"] is None and unknown["medianRatio"] is None and unknown["meanDead"] == 1.0
    assert ratio(0.3, 0.0) is None
