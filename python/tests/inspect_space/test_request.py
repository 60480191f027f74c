"""inspect_space end to end: the JSON contract, the many-class behaviour of the two forms, errors naming the field."""
import json

import pytest

from amlfs.inspect_space import InspectError, inspect_space, inspect_space_json

M = 2
IDENTITY = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]


def with_b_tau0(value):
    theta = list(IDENTITY)
    theta[3 * M] = value
    return theta


def test_many_classes_paper_biases_kill_the_gradient():
    """C = 1000, s = 30: p starts near 1e-4, inside tau's first interval; b_tau[0] = 0.5 flattens it, -0.1 floors it."""
    answer = inspect_space({
        "M": M, "classes": 1000, "scale": 30, "examples": 64, "dim": 512, "seed": 2,
        "forms": {"paper": {"mu": IDENTITY, "thetas": [with_b_tau0(0.5), with_b_tau0(-0.1), IDENTITY]}},
    })
    assert answer["setting"]["medianTargetProbability"] < 1e-2
    flat, floored, same = answer["forms"]["paper"]["samples"]
    assert flat["ratio"] < 0.01 and flat["dead"] > 0.9 and flat["floored"] == 0.0
    assert floored["ratio"] == 0.0 and floored["floored"] == 1.0
    assert same["ratio"] == 1.0 and same["dead"] == 0.0
    summary = answer["forms"]["paper"]["summary"]
    assert summary["deadSamples"] == 2 and summary["minRatio"] == 0.0 and summary["medianRatio"] == flat["ratio"]
    assert answer["thresholds"] == {"deadRatio": 0.01, "deadC": 0.01}


def test_json_round_trip_with_the_config_defaults():
    experiment = {"baseline": {"name": "spherereid", "options": {"scale": 12}}, "dataset": {"kind": "market1501"}}
    request = {"M": M, "experiment": experiment, "examples": 8, "dim": 16, "forms": {"a": {"mu": IDENTITY, "thetas": [IDENTITY]}}}
    answer = json.loads(inspect_space_json(json.dumps(request)))
    setting = answer["setting"]
    assert (setting["classes"], setting["scale"], setting["examples"], setting["dim"], setting["seed"]) == (751, 12.0, 8, 16, 0)
    assert setting["scaleFrom"] == "spherereid" and setting["inputs"] == "random"
    assert setting["meanTargetScale"] == 12.0
    assert answer["forms"]["a"]["samples"][0]["ratio"] == 1.0
    overridden = inspect_space({**request, "classes": 3, "scale": "linear"})["setting"]
    assert (overridden["classes"], overridden["scale"], overridden["classesFrom"]) == (3, "linear", "request")


def test_given_cosines():
    cosines = {"cosine": [[0.9, 0.1, 0.0], [0.2, -0.1, 0.3]], "target": [0, 2], "scale": [[2.0, 1.0, 1.5]]}
    answer = inspect_space({"M": M, "cosines": cosines, "forms": {"a": {"mu": IDENTITY, "thetas": [IDENTITY]}}})
    setting = answer["setting"]
    assert (setting["classes"], setting["examples"], setting["scale"], setting["inputs"]) == (3, 2, "tensor", "given")
    assert setting["meanTargetScale"] == pytest.approx((2.0 + 1.5) / 2)


@pytest.mark.parametrize("change, message", [
    ({"M": 0}, r"`M`: expected an integer >= 1, got 0"),
    ({"forms": {}}, r"`forms`: expected a non-empty object"),
    ({"forms": {"a": {"mu": IDENTITY, "thetas": []}}}, r"`forms.a.thetas`: expected a non-empty list"),
    ({"forms": {"a": {"mu": IDENTITY, "thetas": [IDENTITY, [1.0]]}}}, r"`forms.a.thetas\[1\]`: expected 4 M = 8 finite"),
    ({"forms": {"a": {"mu": IDENTITY[:-1] + [float("inf")], "thetas": [IDENTITY]}}}, r"`forms.a.mu`: expected 4 M = 8"),
    ({"cosines": {"cosine": [[0.1, 0.2]], "target": [0], "scale": 1}}, r"`classes`: expected none with `cosines`"),
])
def test_errors_name_the_field(change, message):
    request = {"M": M, "classes": 4, "scale": 2.0, "examples": 2, "dim": 4,
               "forms": {"a": {"mu": IDENTITY, "thetas": [IDENTITY]}}, **change}
    with pytest.raises(InspectError, match=message):
        inspect_space(request)
    with pytest.raises(InspectError, match=r"to be JSON"):
        inspect_space_json("{")


def test_tau_form_per_form():
    """Under "power" b_tau is unused: the flooring bias of the linear form changes nothing."""
    floors = with_b_tau0(-0.1)
    answer = inspect_space({
        "M": M, "classes": 50, "scale": 10, "examples": 16, "dim": 32,
        "forms": {"linear": {"mu": IDENTITY, "thetas": [floors]},
                  "power": {"mu": IDENTITY, "thetas": [floors], "tauForm": "power"}},
    })
    assert answer["forms"]["linear"]["samples"][0]["floored"] == 1.0
    assert answer["forms"]["power"]["samples"][0] == {**answer["forms"]["power"]["mu"], "ratio": 1.0}
    assert answer["forms"]["power"]["mu"]["gradNorm"] == pytest.approx(answer["forms"]["linear"]["mu"]["gradNorm"], rel=1e-12)
    with pytest.raises(InspectError, match=r"`forms.odd`: .*tau_form"):
        inspect_space({"M": M, "classes": 3, "scale": 1, "examples": 2, "dim": 4,
                       "forms": {"odd": {"mu": IDENTITY, "thetas": [IDENTITY], "tauForm": "cubic"}}})
