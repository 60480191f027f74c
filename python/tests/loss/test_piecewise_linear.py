import math

import pytest
import torch

from amlfs import LossInputError, interval_index, piecewise_linear


def loop_piecewise(x, slopes, biases, lo, hi):
    """Plain float64 reference: interval by the formula of docs/algorithm.md, then a x + b."""
    m = len(slopes)
    i = min(max(math.floor(((x - lo) / (hi - lo)) * m), 0), m - 1)
    return i, slopes[i] * x + biases[i]


SLOPES = [0.5, -1.0, 2.0, 1.5, -0.25, 3.0]
BIASES = [0.1, 0.2, -0.3, 0.0, 1.0, -2.0]


def edge_points(lo, hi, m):
    """Every interval edge, its float64 neighbours, the domain ends and points outside."""
    points = []
    for k in range(m + 1):
        edge = lo + (hi - lo) * k / m
        points += [edge, math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf)]
    return points + [lo - 0.5, hi + 0.5, hi + 1e-7, lo - 1e-7, 0.123, -0.999, 1e300, -1e300]


@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (0.0, 1.0)])
def test_matches_plain_loop_at_edges_and_outside(lo, hi):
    points = edge_points(lo, hi, len(SLOPES))
    x = torch.tensor(points, dtype=torch.float64)
    values = piecewise_linear(x, SLOPES, BIASES, lo, hi)
    indices = interval_index(x, lo, hi, len(SLOPES))
    for k, point in enumerate(points):
        i, v = loop_piecewise(point, SLOPES, BIASES, lo, hi)
        assert int(indices[k]) == i, point
        assert float(values[k]) == v, point


def test_right_end_belongs_to_last_interval_and_edges_to_the_right():
    x = torch.tensor([-1.0, -2.0 / 3.0, 0.0, 1.0], dtype=torch.float64)
    assert interval_index(x, -1.0, 1.0, 6).tolist() == [0, 1, 3, 5]
    assert interval_index(torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), 0.0, 1.0, 6).tolist() == [0, 3, 5]


def test_extrapolates_outside_the_domain_without_clamping_x():
    value = piecewise_linear(torch.tensor([1.5], dtype=torch.float64), SLOPES, BIASES, -1.0, 1.0)
    assert float(value[0]) == SLOPES[-1] * 1.5 + BIASES[-1]


def test_keeps_shape_and_returns_float64_for_float32_input():
    x = torch.rand(3, 4) * 2 - 1
    out = piecewise_linear(x, SLOPES, BIASES, -1.0, 1.0)
    assert out.shape == (3, 4) and out.dtype == torch.float64
    for (r, c), v in zip([(r, c) for r in range(3) for c in range(4)], out.flatten().tolist()):
        assert v == loop_piecewise(float(x[r, c]), SLOPES, BIASES, -1.0, 1.0)[1]


def test_index_is_computed_in_float64_not_float32():
    # The float32 just below 2/3: float32 arithmetic rounds ((x + 1) / 2) * 6 up to 5.0.
    x = torch.tensor([0.6666666269302368], dtype=torch.float32)
    assert math.floor(float(((x + 1) / 2 * 6)[0])) == 5
    expected, _ = loop_piecewise(float(x[0]), SLOPES, BIASES, -1.0, 1.0)
    assert expected == 4
    assert int(interval_index(x, -1.0, 1.0, 6)[0]) == 4


def test_nan_gets_interval_zero_in_the_unchecked_index():
    assert interval_index(torch.tensor([math.nan]), -1.0, 1.0, 6).tolist() == [0]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_rejects_non_finite_x(bad):
    with pytest.raises(LossInputError, match="`x`"):
        piecewise_linear(torch.tensor([0.0, bad]), SLOPES, BIASES, -1.0, 1.0)


def test_rejects_bad_coefficients_and_domain():
    with pytest.raises(ValueError, match="`biases`"):
        piecewise_linear(torch.tensor([0.0]), SLOPES, BIASES[:-1], -1.0, 1.0)
    with pytest.raises(ValueError, match="`slopes`"):
        piecewise_linear(torch.tensor([0.0]), [math.nan] * 6, BIASES, -1.0, 1.0)
    with pytest.raises(ValueError, match="`lo`"):
        piecewise_linear(torch.tensor([0.0]), SLOPES, BIASES, 1.0, -1.0)
