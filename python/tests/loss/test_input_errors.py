"""Invalid inputs are rejected with a LossInputError (a ValueError) naming the field."""
import math

import pytest
import torch

from amlfs import LossInputError, SearchSpace, searched_softmax_loss

THETA = SearchSpace(6).identity()
COSINE = torch.rand(4, 5)
TARGET = torch.tensor([0, 1, 4, 2])


def call(cosine=COSINE, target=TARGET, theta=THETA, scale=10.0, reduction="mean", **kwargs):
    return searched_softmax_loss(cosine, target, theta, scale, reduction, **kwargs)


@pytest.mark.parametrize(
    "kwargs,field,expected",
    [
        (dict(cosine=torch.rand(5)), "cosine", r"\[N, C\].*got \[5\]"),
        (dict(cosine=torch.rand(2, 3, 4)), "cosine", r"got \[2, 3, 4\]"),
        (dict(cosine=torch.rand(4, 1)), "cosine", r"C >= 2"),
        (dict(cosine=[[0.1, 0.2]]), "cosine", "torch.Tensor"),
        (dict(cosine=torch.zeros(4, 5, dtype=torch.int64)), "cosine", "floating"),
        (dict(target=torch.tensor([0, 1, 5, 2])), "target", r"\[0, 5\).*got 5 at index 2"),
        (dict(target=torch.tensor([0, -1, 1, 2])), "target", r"got -1 at index 1"),
        (dict(target=torch.tensor([0, 1])), "target", r"\[N\] = \[4\].*got \[2\]"),
        (dict(target=torch.tensor([0.0, 1.0, 2.0, 3.0])), "target", "integer"),
        (dict(target=[0, 1, 2, 3]), "target", "torch.Tensor"),
        (dict(theta=THETA[:-2]), "theta", r"4 \* M"),
        (dict(theta=torch.cat([THETA, torch.tensor([math.inf, 0, 0, 0], dtype=torch.float64)])), "theta", "index 24"),
        (dict(theta=THETA[:20], num_intervals=6), "theta", r"\[24\]"),
        (dict(scale=math.nan), "scale", "finite"),
        (dict(scale="10"), "scale", "number"),
        (dict(scale=torch.ones(5, 1)), "scale", r"broadcastable to \[N, C\] = \[4, 5\]"),
        (dict(scale=torch.ones(1, 1, 1)), "scale", "got \\[1, 1, 1\\]"),
        (dict(scale=torch.ones(4, 5, dtype=torch.int64)), "scale", "floating"),
        (dict(reduction="avg"), "reduction", "'mean', 'sum', 'none'"),
    ],
)
def test_errors_name_the_field(kwargs, field, expected):
    with pytest.raises(LossInputError, match=f"`{field}`") as info:
        call(**kwargs)
    assert isinstance(info.value, ValueError)
    assert info.match(expected)


def test_non_finite_theta_entry_reports_its_index():
    theta = THETA.clone()
    theta[3] = math.nan
    with pytest.raises(ValueError, match=r"`theta`.*nan at index 3"):
        call(theta=theta)


def test_theta_as_a_list_or_float32_is_accepted():
    expected = call()
    torch.testing.assert_close(call(theta=THETA.tolist()), expected)
    torch.testing.assert_close(call(theta=THETA.float()), expected)
