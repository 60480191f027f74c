"""``LossStats`` (amlfs/loss/stats.py): how a searched loss acted on the examples it trained on.

References: a plain Python count of the per-example factors, and for the loss module the
factors of ``loop_reference.gradient_factors`` (plain loops and ``math``, from
docs/algorithm.md), never the code under test.
"""
import random

import pytest
import torch

from amlfs import SearchedSoftmaxLoss, SearchSpace
from amlfs.loss.stats import DEAD_FACTOR, FIELDS, LossStats

from .loop_reference import gradient_factors

M = 6


def plain_summary(rows):
    """The summary of ``rows`` of ``(c, floored, t_slope)``, counted in a loop."""
    n = len(rows)
    return {
        "examples": n,
        "flooredShare": sum(1 for _, floored, _ in rows if floored) / n,
        "deadShare": sum(1 for c, _, _ in rows if c < DEAD_FACTOR) / n,
        "meanC": sum(c for c, _, _ in rows) / n,
        "tDeadShare": sum(1 for _, _, slope in rows if slope < DEAD_FACTOR) / n,
        "meanTSlope": sum(slope for _, _, slope in rows) / n,
    }


def random_rows(rng, n):
    """Factors around the threshold: floored (c = 0), just below and above 0.01, large, negative slopes."""
    rows = []
    for _ in range(n):
        floored = rng.random() < 0.3
        c = 0.0 if floored else rng.choice([0.0099, 0.01, 0.0101, rng.uniform(0, 3)])
        slope = rng.choice([-0.4, 0.0, 0.0099, 0.01, rng.uniform(-1, 2)])
        rows.append((c, floored, slope))
    return rows


def add_rows(stats, rows):
    c, floored, slope = zip(*rows)
    stats.add(torch.tensor(c, dtype=torch.float64), torch.tensor(floored), torch.tensor(slope, dtype=torch.float64))


def test_summary_equals_a_plain_count_over_several_calls():
    rng = random.Random(3)
    rows = random_rows(rng, 257)
    stats = LossStats()
    assert stats.summary() is None
    for start, stop in ((0, 1), (1, 100), (100, 257)):
        add_rows(stats, rows[start:stop])
    got, want = stats.summary(), plain_summary(rows)
    assert list(got) == list(FIELDS)
    assert got["examples"] == want["examples"] and isinstance(got["examples"], int)
    for name in FIELDS[1:]:
        assert got[name] == pytest.approx(want[name], rel=1e-12, abs=1e-15), name
    assert 0.0 < want["deadShare"] < 1.0 and want["deadShare"] > want["flooredShare"]  # the data exercise both


def test_reset_totals_and_an_empty_count():
    stats = LossStats()
    add_rows(stats, [(0.5, False, 1.0), (0.0, True, 0.0)])
    totals = stats.totals()
    assert totals.tolist() == [2.0, 1.0, 1.0, 0.5, 1.0, 1.0]
    totals += 1.0  # a copy: the count is unchanged
    assert stats.summary()["examples"] == 2
    other = LossStats()
    other.set_totals(stats.totals() * 2)  # e.g. summed over two ranks
    assert other.summary() == {**stats.summary(), "examples": 4}  # the same shares and means
    stats.reset()
    assert stats.summary() is None and stats.totals().tolist() == [0.0] * 6
    stats.add(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.bool), torch.zeros(0, dtype=torch.float64))
    assert stats.summary() is None  # no example yet
    with pytest.raises(ValueError, match=r"`totals` of shape \[6\], got \[5\]"):
        stats.set_totals(torch.zeros(5, dtype=torch.float64))


def mixed_theta():
    """t dead on [-1/3, 0); tau floored below p = 0.25 on [1/6, 1/3), nearly flat (c ~ 0.002) on [1/2, 2/3)."""
    theta = SearchSpace(M).identity().tolist()
    theta[2] = 0.005  # a_t on [-1/3, 0)
    theta[3 * M + 1] = -0.25  # b_tau on [1/6, 1/3): tau = p - 0.25
    theta[2 * M + 3], theta[3 * M + 3] = 0.001, 0.3  # tau = 0.001 p + 0.3 on [1/2, 2/3)
    theta[2 * M + 5], theta[3 * M + 5] = -0.5, 1.2  # decreasing, positive
    return theta


def test_the_module_counts_its_training_calls_like_the_loop_reference():
    theta = mixed_theta()
    gen = torch.Generator().manual_seed(5)
    loss = SearchedSoftmaxLoss(M)
    loss.set_theta(theta)
    rows = []
    for n in (40, 33):
        cosine = (torch.rand(n, 4, generator=gen, dtype=torch.float64) * 2 - 1).requires_grad_()
        target = torch.randint(0, 4, (n,), generator=gen)
        scale = 3.0
        loss(cosine, target, scale).backward()
        for i in range(n):
            rows.append(gradient_factors(theta, M, cosine[i].tolist(), int(target[i]), [scale] * 4))
    with torch.no_grad():  # evaluation: not counted
        loss(torch.rand(9, 4, dtype=torch.float64), torch.zeros(9, dtype=torch.long), 3.0)
    got, want = loss.stats.summary(), plain_summary(rows)
    assert got["examples"] == want["examples"] == 73
    for name in FIELDS[1:]:
        assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-12), name
    # The theta makes every kind of example: floored, dead but not floored, t dead, alive.
    assert 0.0 < want["flooredShare"] < want["deadShare"] < 1.0
    assert 0.0 < want["tDeadShare"] < 1.0


def test_the_identity_keeps_every_example_alive_with_factor_one():
    loss = SearchedSoftmaxLoss(M)
    cosine = (torch.rand(50, 7, dtype=torch.float64) * 2 - 1).requires_grad_()
    loss(cosine, torch.randint(0, 7, (50,)), 30.0).backward()
    got = loss.stats.summary()
    assert got == {"examples": 50, "flooredShare": 0.0, "deadShare": 0.0, "meanC": pytest.approx(1.0, rel=1e-12),
                   "tDeadShare": 0.0, "meanTSlope": 1.0}
