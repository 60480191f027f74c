import math

import pytest
import torch

from amlfs import LossInputError, SearchSpace


def test_identity_layout():
    space = SearchSpace(6)
    assert space.num_intervals == 6 and space.dim == 24
    theta = space.identity()
    assert theta.dtype == torch.float64 and theta.shape == (24,)
    assert theta.tolist() == [1.0] * 6 + [0.0] * 6 + [1.0] * 6 + [0.0] * 6


def test_cosine_margin_is_t_minus_margin():
    theta = SearchSpace(4).cosine_margin(0.35)
    assert theta.tolist() == [1.0] * 4 + [-0.35] * 4 + [1.0] * 4 + [0.0] * 4


def test_split_returns_the_four_blocks_in_order():
    space = SearchSpace(3)
    theta = torch.arange(12, dtype=torch.float64)
    a_t, b_t, a_tau, b_tau = space.split(theta)
    assert a_t.tolist() == [0, 1, 2] and b_t.tolist() == [3, 4, 5]
    assert a_tau.tolist() == [6, 7, 8] and b_tau.tolist() == [9, 10, 11]


def test_check_accepts_lists_and_returns_float64():
    theta = SearchSpace(2).check([1, 1, 0, 0, 1, 1, 0, 0])
    assert theta.dtype == torch.float64 and theta.tolist() == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("length", [0, 23, 25])
def test_check_rejects_wrong_length_naming_theta(length):
    with pytest.raises(LossInputError, match=r"`theta`.*\[24\].*got shape \[" + str(length) + r"\]"):
        SearchSpace(6).check(torch.zeros(length, dtype=torch.float64))


def test_check_rejects_two_dimensional_theta():
    with pytest.raises(ValueError, match="`theta`"):
        SearchSpace(6).check(torch.zeros(4, 6))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_check_names_the_non_finite_index(bad):
    theta = SearchSpace(6).identity()
    theta[13] = bad
    with pytest.raises(ValueError, match=r"`theta`.*at index 13"):
        SearchSpace(6).check(theta)


def test_check_rejects_non_numbers():
    with pytest.raises(ValueError, match="`theta`"):
        SearchSpace(1).check(["a", "b", "c", "d"])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "6"])
def test_num_intervals_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="`num_intervals`"):
        SearchSpace(bad)


def test_cosine_margin_must_be_finite():
    with pytest.raises(ValueError, match="`margin`"):
        SearchSpace().cosine_margin(math.inf)
