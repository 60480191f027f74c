"""The shared golden vectors: proto/vectors/space/piecewise.json and loss/searched_softmax.json.

Values are float64 results of tools/make_vectors.py (which, like our kernel, keeps
``log p`` and ``q_y - 1`` accurate near ``p = 1``); we allow 1e-12 relative and 1e-14
absolute (for entries that are zero up to rounding).
"""
import math

import pytest
import torch

from amlfs import (
    TAU_FLOOR,
    SearchSpace,
    effective_log_tau,
    interval_index,
    piecewise_linear,
    searched_softmax_loss,
    searched_softmax_terms,
)

from ..vectors import case_ids, load_vectors

PIECEWISE = load_vectors("space/piecewise.json")["cases"]
LOSS_FILE = load_vectors("loss/searched_softmax.json")
LOSS = LOSS_FILE["cases"]


def valid(cases):
    return [c for c in cases if c["valid"]]


def invalid(cases):
    return [c for c in cases if not c["valid"]]

# The vectors name the input `x`; for fn "logTau" that input is the argument `log_p`.
ARGUMENT_OF_FIELD = {("logTau", "x"): "log_p"}


def close(got, expected, rel=1e-12, abs_=1e-14):
    return math.isclose(got, expected, rel_tol=rel, abs_tol=abs_) or got == expected


def evaluate_piecewise(case):
    space = SearchSpace(case["M"])
    a_t, b_t, a_tau, b_tau = space.split(case["theta"])
    x = torch.tensor([case["x"]], dtype=torch.float64)
    if case["fn"] in ("t", "tau"):
        slopes, biases, lo = (a_t, b_t, -1.0) if case["fn"] == "t" else (a_tau, b_tau, 0.0)
        value = piecewise_linear(x, slopes, biases, lo, 1.0)
        return {"interval": int(interval_index(x, lo, 1.0, space.num_intervals)[0]), "value": float(value[0])}
    out = effective_log_tau(x, a_tau, b_tau)
    return {
        "interval": int(out.interval[0]),
        "value": float(out.value[0]),
        "floored": bool(out.floored[0]),
        "c": float(out.c[0]),
    }


@pytest.mark.parametrize("case", valid(PIECEWISE), ids=case_ids(valid(PIECEWISE)))
def test_piecewise_valid(case):
    got = evaluate_piecewise(case)
    assert got["interval"] == case["interval"]
    assert close(got["value"], case["value"]), (got["value"], case["value"])
    if case["fn"] == "logTau":
        assert got["floored"] == case["floored"]
        assert close(got["c"], case["c"]), (got["c"], case["c"])


@pytest.mark.parametrize("case", invalid(PIECEWISE), ids=case_ids(invalid(PIECEWISE)))
def test_piecewise_invalid(case):
    field = ARGUMENT_OF_FIELD.get((case["fn"], case["error"]["field"]), case["error"]["field"])
    with pytest.raises((ValueError, IndexError), match=f"`{field}`"):
        evaluate_piecewise(case)


def loss_inputs(case):
    cosine = torch.tensor(case["cosine"], dtype=torch.float64, requires_grad=True)
    target = torch.tensor(case["target"], dtype=torch.int64)
    scale = case["scale"]
    if isinstance(scale, list):
        scale = torch.tensor(scale, dtype=torch.float64, requires_grad=True)
    return cosine, target, scale


def test_tau_floor_matches_the_vectors():
    assert LOSS_FILE["tauFloor"] == TAU_FLOOR


@pytest.mark.parametrize("t_scale_grad", ["full", "plain"])
@pytest.mark.parametrize("case", valid(LOSS), ids=case_ids(valid(LOSS)))
def test_loss_valid(case, t_scale_grad):
    cosine, target, scale = loss_inputs(case)
    tau_form = case.get("tauForm", "linear")
    loss = searched_softmax_loss(cosine, target, case["theta"], scale, "none", num_intervals=case["M"],
                                 t_scale_grad=t_scale_grad, tau_form=tau_form)
    loss.sum().backward()
    loss = loss.detach()
    plain_scale = scale.detach() if isinstance(scale, torch.Tensor) else scale
    terms = searched_softmax_terms(cosine.detach(), target, case["theta"], plain_scale, tau_form=tau_form)
    for k, expected in enumerate(case["loss"]):
        assert close(float(loss[k]), expected), (k, float(loss[k]), expected)
        assert close(float(terms.log_tau.value[k]), case["logTau"][k])
    assert terms.log_tau.floored.tolist() == case["floored"]
    for r, row in enumerate(case["gradCosine"]):
        for j, expected in enumerate(row):
            got = float(cosine.grad[r, j])
            assert close(got, expected), (r, j, got, expected)
    if "gradScale" in case:
        want = case["gradScale" if t_scale_grad == "full" else "gradScalePlain"]
        assert list(scale.grad.shape) == [len(want), len(want[0])]
        for r, row in enumerate(want):
            for j, expected in enumerate(row):
                got = float(scale.grad[r, j])
                assert close(got, expected), (r, j, got, expected)
    else:
        assert not isinstance(scale, torch.Tensor)


@pytest.mark.parametrize("case", invalid(LOSS), ids=case_ids(invalid(LOSS)))
def test_loss_invalid(case):
    cosine, target, scale = loss_inputs(case)
    with pytest.raises((ValueError, IndexError), match=f"`{case['error']['field']}`"):
        searched_softmax_loss(cosine, target, case["theta"], scale, num_intervals=case["M"])
