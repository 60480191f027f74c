import math
import random

import pytest
import torch

from amlfs import TAU_FLOOR, SearchSpace, effective_log_tau

from .loop_reference import log_tau_effective

M = 6


def mixed_theta():
    """Positive pieces, a floored piece, a decreasing piece and a constant piece."""
    theta = SearchSpace(M).identity().tolist()
    theta[3 * M + 0] = -0.05  # b_tau[0] < 0: floored near p = 0
    theta[2 * M + 2], theta[3 * M + 2] = 0.0, 0.3  # constant piece
    theta[2 * M + 5], theta[3 * M + 5] = -0.5, 1.2  # decreasing, positive
    theta[2 * M + 3], theta[3 * M + 3] = 2.0, 0.25  # positive with b > 0
    return theta


def check_against_loop(theta, log_points):
    a_tau, b_tau = theta[2 * M : 3 * M], theta[3 * M :]
    got = effective_log_tau(torch.tensor(log_points, dtype=torch.float64), a_tau, b_tau)
    for k, log_p in enumerate(log_points):
        value, floored, c = log_tau_effective(theta, M, log_p)
        assert bool(got.floored[k]) == floored, log_p
        assert math.isclose(float(got.value[k]), value, rel_tol=1e-13, abs_tol=1e-300), log_p
        assert math.isclose(float(got.c[k]), c, rel_tol=1e-12, abs_tol=1e-300), log_p
        assert int(got.interval[k]) == min(max(math.floor(math.exp(log_p) * M), 0), M - 1)


def test_floor_constant_is_exported():
    assert TAU_FLOOR == 1e-6


def test_identity_is_log_p_exactly_with_c_one_even_for_vanishing_p():
    log_p = torch.tensor([0.0, -1e-12, -0.7, -69.1, -700.0, -1000.0, -1e5], dtype=torch.float64)
    out = effective_log_tau(log_p, [1.0] * M, [0.0] * M)
    assert torch.equal(out.value, log_p)
    assert torch.equal(out.c, torch.ones_like(log_p))
    assert not out.floored.any()


def test_mixed_theta_matches_the_plain_loop():
    rng = random.Random(3)
    points = [0.0, -1e-12, math.log(0.5), math.log(0.05), -700.0, -1000.0]
    points += [math.log(k / M + d) for k in range(1, M) for d in (-1e-9, 1e-9)]
    points += [math.log(rng.uniform(1e-6, 1.0)) for _ in range(200)]
    check_against_loop(mixed_theta(), points)


def test_random_thetas_match_the_plain_loop():
    rng = random.Random(11)
    for _ in range(50):
        theta = [v + rng.gauss(0.0, 0.5) for v in SearchSpace(M).identity().tolist()]
        points = [math.log(rng.uniform(1e-9, 1.0)) for _ in range(40)] + [-500.0, 0.0]
        check_against_loop(theta, points)


def test_floored_pieces_give_the_floor_and_zero_c():
    # tau(p) = p - 0.5 on every interval: floored for p < 0.5 + 1e-6.
    out = effective_log_tau(torch.log(torch.tensor([0.1, 0.3, 0.5, 0.9], dtype=torch.float64)), [1.0] * M, [-0.5] * M)
    assert out.floored.tolist() == [True, True, True, False]
    assert out.value[:3].tolist() == [math.log(TAU_FLOOR)] * 3
    assert out.c[:3].tolist() == [0.0] * 3
    assert math.isclose(float(out.c[3]), 0.9 / 0.4, rel_tol=1e-12)


def test_positive_pieces_are_never_floored():
    # a > 0, b = 0: tau(p) = 0.5 p is far below the floor at p = 1e-300, yet not floored.
    out = effective_log_tau(torch.tensor([-690.0], dtype=torch.float64), [0.5] * M, [0.0] * M)
    assert not bool(out.floored[0])
    assert math.isclose(float(out.value[0]), math.log(0.5) - 690.0, rel_tol=1e-15)


@pytest.mark.parametrize("bad", [math.nan, -math.inf, math.inf])
def test_rejects_non_finite_log_p(bad):
    with pytest.raises(ValueError, match="`log_p`"):
        effective_log_tau(torch.tensor([0.0, bad], dtype=torch.float64), [1.0] * M, [0.0] * M)


def test_rejects_bad_coefficients():
    with pytest.raises(ValueError, match="`b_tau`"):
        effective_log_tau([0.0], [1.0] * M, [0.0] * (M - 1))
    with pytest.raises(ValueError, match="`a_tau`"):
        effective_log_tau([0.0], [math.nan] * M, [0.0] * M)
