"""The report's curves against closed forms: identity, CosFace, a floored tau, a plain-loop t."""
import json
import math
import random
import sys

import pytest

from amlfs import LossInputError, SearchSpace
from amlfs.report_curves import curves_json, edge_grid, loss_curves

M = 6
SCALE = 10.0
CLASSES = 10


def softmax_target_p(logit: float, num_classes: int) -> float:
    """p of the target with logit ``logit`` when the other ``C - 1`` logits are 0."""
    return 1.0 / (1.0 + (num_classes - 1) * math.exp(-logit))


def plain_piecewise(x: float, slopes, biases, lo: float, hi: float) -> float:
    i = min(max(math.floor((x - lo) / (hi - lo) * len(slopes)), 0), len(slopes) - 1)
    return slopes[i] * x + biases[i]


def test_identity_is_cross_entropy():
    curves = loss_curves(SearchSpace(M).identity(), num_intervals=M, num_classes=CLASSES, scale=SCALE)
    assert curves["t"] == curves["x"]
    for p, tau in zip(curves["p"][1:], curves["tau"][1:]):
        assert tau == pytest.approx(p, rel=1e-12)
    assert curves["tau"][0] == pytest.approx(0.0, abs=1e-300)
    assert not any(curves["tauFloored"])
    for x, logit, grad in zip(curves["x"], curves["logit"], curves["gradMagnitude"]):
        assert logit == pytest.approx(SCALE * x, rel=1e-15)
        # cross-entropy: dL/df_y = p - 1
        assert grad == pytest.approx(1.0 - softmax_target_p(SCALE * x, CLASSES), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("margin", [0.35, 0.2])
def test_cosface_point(margin):
    curves = loss_curves(SearchSpace(M).cosine_margin(margin), num_intervals=M, num_classes=CLASSES, scale=SCALE)
    for x, t in zip(curves["x"], curves["t"]):
        assert t == pytest.approx(x - margin, abs=1e-15)
    for x, grad, p in zip(curves["x"], curves["gradMagnitude"], curves["targetProbability"]):
        expected_p = softmax_target_p(SCALE * (x - margin), CLASSES)
        assert p == pytest.approx(expected_p, rel=1e-12)
        assert grad == pytest.approx(1.0 - expected_p, rel=1e-9, abs=1e-15)


def test_floored_tau_follows_the_validity_policy():
    # tau(p) = 0.5 - p on every interval: floored (1e-6, zero gradient) once p > 0.5 - 1e-6.
    theta = [1.0] * M + [0.0] * M + [-1.0] * M + [0.5] * M
    curves = loss_curves(theta, num_intervals=M, num_classes=CLASSES, scale=SCALE)
    for p, tau, raw, floored in zip(curves["p"], curves["tau"], curves["tauRaw"], curves["tauFloored"]):
        assert raw == pytest.approx(0.5 - p, abs=1e-15)
        assert floored == (0.5 - p < 1e-6)
        assert tau == pytest.approx(max(0.5 - p, 1e-6), rel=1e-12)
    assert any(curves["tauFloored"]) and not all(curves["tauFloored"])
    for p, grad in zip(curves["targetProbability"], curves["gradMagnitude"]):
        tau = 0.5 - p
        # dL/df_y = c (p - 1) with c = a p / tau = -p / tau, 0 where floored (a_t = 1, so df'/df = 1)
        expected = 0.0 if tau < 1e-6 else abs(-p / tau * (p - 1.0))
        assert grad == pytest.approx(expected, rel=1e-7, abs=1e-12)


def test_random_theta_t_matches_a_plain_loop():
    rng = random.Random(7)
    theta = [rng.gauss(1.0, 0.3) for _ in range(M)] + [rng.gauss(0.0, 0.3) for _ in range(M)]
    theta += [rng.gauss(1.0, 0.1) for _ in range(M)] + [abs(rng.gauss(0.0, 0.1)) for _ in range(M)]
    curves = loss_curves(theta, num_intervals=M, grid_points=51)
    for x, t in zip(curves["x"], curves["t"]):
        assert t == pytest.approx(plain_piecewise(x, theta[:M], theta[M : 2 * M], -1.0, 1.0), rel=1e-12, abs=1e-15)
    for p, raw in zip(curves["p"], curves["tauRaw"]):
        assert raw == pytest.approx(plain_piecewise(p, theta[2 * M : 3 * M], theta[3 * M :], 0.0, 1.0), rel=1e-12, abs=1e-15)


def test_edge_grid_has_both_sides_of_every_edge():
    grid = edge_grid(-1.0, 1.0, 3, 5).tolist()
    assert grid[0] == -1.0 and grid[-1] == 1.0
    assert all(a < b for a, b in zip(grid, grid[1:]))
    for interval in (1, 2):
        first = next(x for x in grid if math.floor((x + 1) / 2 * 3) >= interval)
        assert abs(first - (-1.0 + 2.0 * interval / 3)) < 1e-15
        assert math.nextafter(first, -math.inf) in grid
    # 5 equal steps (-1, -0.5, 0, 0.5, 1) + 2 points per interior edge
    assert len(grid) == 5 + 4


def test_jump_at_an_edge_is_drawn():
    theta = [1.0] * M + [0.1 * i for i in range(M)] + [1.0] * M + [0.0] * M
    curves = loss_curves(theta, num_intervals=M, grid_points=11)
    # the first grid point of interval 1 by the plain rule, and the point before it
    first = next(i for i, x in enumerate(curves["x"]) if math.floor((x + 1) / 2 * M) >= 1)
    below = first - 1
    assert curves["x"][first] == math.nextafter(curves["x"][below], math.inf)
    assert curves["t"][below + 1] - curves["t"][below] == pytest.approx(0.1, abs=1e-12)


def test_curves_json_round_trip():
    space = SearchSpace(M)
    request = {"M": M, "thetas": {"identity": space.identity().tolist()}, "gridPoints": 11, "numClasses": 4, "scale": 2.0}
    answer = json.loads(curves_json(json.dumps(request)))
    assert answer["setting"] == {"M": M, "gridPoints": 11, "numClasses": 4, "scale": 2.0, "tauForm": "linear"}
    expected = loss_curves(space.identity(), num_intervals=M, grid_points=11, num_classes=4, scale=2.0)
    assert answer["curves"]["identity"] == expected


@pytest.mark.parametrize(
    "request_text,message",
    [
        ("not json", "JSON object"),
        ("[1, 2]", "JSON object"),
        ('{"M": 6, "thetas": {}}', "`thetas`"),
        ('{"M": 0, "thetas": {"a": [1]}}', "`M`"),
        ('{"M": 1, "thetas": {"final mu": [1, 0, 1]}}', "thetas.final mu: Expected `theta` to have shape [4]"),
        ('{"M": 1, "thetas": {"a": [1, 0, 1, 0]}, "scale": -1}', "`scale`"),
        ('{"M": 1, "thetas": {"a": [1, 0, 1, 0]}, "numClasses": 1}', "`num_classes`"),
        ('{"M": 1, "thetas": {"a": [1, 0, 1, 0]}, "gridPoints": 1.5}', "`grid_points`"),
    ],
)
def test_curves_json_names_the_bad_field(request_text, message):
    with pytest.raises(LossInputError, match=None) as error:
        curves_json(request_text)
    assert message in str(error.value)


def test_power_tau_is_a_power_of_p():
    """With every a_tau = 2 the power form is tau(p) = p^2 on all of [0, 1]; the identity gives tau(p) = p."""
    space = SearchSpace(M)
    squared = space.identity().tolist()
    squared[2 * M : 3 * M] = [2.0] * M
    for theta, power in ((space.identity().tolist(), 1.0), (squared, 2.0)):
        curves = loss_curves(theta, num_intervals=M, grid_points=11, tau_form="power")
        for p, tau in zip(curves["p"], curves["tau"]):
            assert tau == pytest.approx(max(p, sys.float_info.min) ** power, rel=1e-12, abs=1e-300)
        assert not any(curves["tauFloored"])
