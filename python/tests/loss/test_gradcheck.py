"""torch.autograd.gradcheck of the hand-written backward (float64), away from the kinks.

The loss is discontinuous at interval edges of cos_y and p and where tau crosses the
floor, so the inputs are checked to keep a margin from all of them (with the loop
reference's own arithmetic) before the finite differences run.
"""
import math

import pytest
import torch

from amlfs import TAU_FLOOR, SearchSpace, searched_softmax_loss

from .loop_reference import interval, split

M = 6
MARGIN = 1e-3


def kinked_theta():
    theta = SearchSpace(M).identity().tolist()
    theta[3 * M + 0] = -0.3  # b_tau[0] < 0: tau(p) = p - 0.3 < 0, floored on [0, 1/6)
    theta[2 * M + 1], theta[3 * M + 1] = -0.4, 0.5  # decreasing tau on [1/6, 2/6)
    theta[2 * M + 2], theta[3 * M + 2] = 1.0, -0.3  # tau crosses the floor inside [2/6, 3/6)
    theta[1], theta[M + 1] = -0.7, -0.2  # decreasing t on [-2/3, -1/3)
    theta[2], theta[M + 2] = 1.3, 0.1
    return theta


def margins(theta, cosine, target, scale_rows):
    """Distances of each sample from the kinks; also whether it is floored."""
    a_t, b_t, a_tau, b_tau = split(theta, M)
    out = []
    for n, row in enumerate(cosine):
        y = target[n]
        u = ((row[y] + 1.0) / 2.0) * M
        i_t = interval(row[y], -1.0, 1.0, M)
        logits = [scale_rows[n][j] * row[j] for j in range(len(row))]
        logits[y] = scale_rows[n][y] * (a_t[i_t] * row[y] + b_t[i_t])
        top = max(logits)
        p = math.exp(logits[y] - top) / math.fsum(math.exp(v - top) for v in logits)
        i = interval(p, 0.0, 1.0, M)
        tau = a_tau[i] * p + b_tau[i]
        positive = a_tau[i] > 0 and b_tau[i] >= 0
        floor_distance = math.inf if positive else abs(tau - TAU_FLOOR)
        floored = tau < TAU_FLOOR and not positive
        out.append((abs(u - round(u)), abs(p * M - round(p * M)), floor_distance, i, floored))
    return out


def inputs(seed, n, c, scale_shape):
    gen = torch.Generator().manual_seed(seed)
    cosine = torch.rand(n, c, generator=gen, dtype=torch.float64) * 1.8 - 0.9
    target = torch.randint(0, c, (n,), generator=gen)
    scale = torch.rand(scale_shape(n, c), generator=gen, dtype=torch.float64) * 3 + 1
    return cosine, target, scale


@pytest.mark.parametrize("reduction", ["sum", "none", "mean"])
@pytest.mark.parametrize(
    "scale_shape", [lambda n, c: (n, 1), lambda n, c: (1, c), lambda n, c: (n, c)], ids=["rows", "cols", "full"]
)
def test_gradcheck_cosine_and_tensor_scale(reduction, scale_shape):
    theta = kinked_theta()
    cosine, target, scale = inputs(seed=4, n=12, c=4, scale_shape=scale_shape)
    rows = scale.expand(12, 4).tolist()
    found = margins(theta, cosine.tolist(), target.tolist(), rows)
    assert all(min(m[:3]) > MARGIN for m in found), "inputs too close to a kink: pick another seed"
    assert any(m[4] for m in found), "no floored sample: the check would miss the zero-gradient region"
    assert len({m[3] for m in found}) >= 3, "too few tau intervals exercised"

    def fn(cos, s):  # "full" is the true gradient; "plain" stops t's part of it (golden vectors check both)
        return searched_softmax_loss(cos, target, theta, s, reduction, t_scale_grad="full")

    inputs_ = (cosine.requires_grad_(), scale.requires_grad_())
    assert torch.autograd.gradcheck(fn, inputs_, eps=1e-7, atol=1e-6, rtol=1e-5)


def test_gradcheck_number_scale():
    theta = kinked_theta()
    cosine, target, _ = inputs(seed=4, n=12, c=4, scale_shape=lambda n, c: (1,))
    found = margins(theta, cosine.tolist(), target.tolist(), [[2.5] * 4] * 12)
    assert all(min(m[:3]) > MARGIN for m in found)
    def fn(cos):
        return searched_softmax_loss(cos, target, theta, 2.5, "none")

    assert torch.autograd.gradcheck(fn, (cosine.requires_grad_(),), eps=1e-7, atol=1e-6)
