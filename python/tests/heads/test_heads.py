"""Every registered head against a per-sample float64 loop, gradcheck, and the identities between heads."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from amlfs import SearchSpace, searched_softmax_loss
from amlfs.heads import (
    CosFaceHead,
    HeadError,
    SearchedHead,
    arcface_target_cosine,
    build_head,
    chebyshev_cos_multiple,
    head_names,
    sphereface_lambda,
    sphereface_logits,
    sphereface_psi,
)

from . import reference

N, D, C = 6, 5, 7
M = 6
# t varies per interval, tau(p) = 0.8 p + 0.1 > 0 (never floored)
SEARCHED_THETA = ([1.0, 0.9, 1.1, 1.0, 0.95, 1.05] + [-0.1, -0.2, 0.0, -0.3, -0.25, -0.35]
                  + [0.8] * M + [0.1] * M)
# continuous t and tau, for gradcheck
SMOOTH_THETA = [1.0] * M + [-0.3] * M + [0.8] * M + [0.1] * M
SPHEREFACE_ITERATION = 99  # the next training forward uses it = 100: lambda = 1000 / 13


def configured(name: str, dtype=torch.float64, theta=SEARCHED_THETA):
    """``(head, reference options)`` for head ``name`` with its default options, seeded weights."""
    torch.manual_seed(0)
    head = build_head(name, D, C).to(dtype)
    opts = {}
    if name == "sphereface":
        head.iteration.fill_(SPHEREFACE_ITERATION)
        opts = {"m": 4, "lambda": 1000.0 / (1.0 + 0.12 * (SPHEREFACE_ITERATION + 1))}
    elif name == "cosface":
        opts = {"scale": 30.0, "margin": 0.40}
    elif name == "arcface":
        opts = {"scale": 64.0, "margin": 0.5}
    elif name == "searched":
        head.set_theta(theta)
        opts = {"scale": 30.0, "theta": list(theta)}
    return head, opts


def inputs(dtype=torch.float64, seed=1):
    gen = torch.Generator().manual_seed(seed)
    target = torch.arange(N) % C
    embedding = torch.randn(N, D, generator=gen, dtype=torch.float64)
    return embedding.to(dtype), target


def test_registered_names():
    assert head_names() == ["arcface", "cosface", "searched", "softmax", "sphereface"]


@pytest.mark.parametrize("name", head_names())
def test_forward_backward_finite_and_shapes(name):
    head, _ = configured(name, torch.float32)
    embedding, target = inputs(torch.float32)
    embedding.requires_grad_()
    loss, logits = head.loss_and_logits(embedding, target)
    assert loss.shape == () and logits.shape == (N, C)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits).all()
    assert embedding.grad.shape == (N, D) and torch.isfinite(embedding.grad).all()
    assert head.weight.grad.shape == (C, D) and torch.isfinite(head.weight.grad).all()
    assert head.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", head_names())
def test_loss_matches_per_sample_loop(name):
    head, opts = configured(name)
    embedding, target = inputs()
    loss, logits = head.loss_and_logits(embedding, target)
    xs, w, ys = embedding.tolist(), head.weight.tolist(), target.tolist()
    expected = reference.mean_loss(name, xs, w, ys, opts)
    assert math.isclose(loss.item(), expected, rel_tol=1e-12, abs_tol=1e-12)
    expected_logits = [reference.sample_logits(name, x, w, y, opts) for x, y in zip(xs, ys)]
    torch.testing.assert_close(logits, torch.tensor(expected_logits, dtype=torch.float64), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", head_names())
def test_gradcheck(name):
    head, _ = configured(name, theta=SMOOTH_THETA)
    head.eval()  # SphereFace: lambda stays fixed across the gradcheck evaluations
    if name == "sphereface":
        head.iteration.fill_(100000)  # lambda = lambda_min = 5, so psi weighs in
    gen = torch.Generator().manual_seed(3)
    target = torch.tensor([0, 2, 4])
    weight = torch.randn(C, D, generator=gen, dtype=torch.float64)
    # features near their class weight keep ArcFace's cos_y away from its fallback boundary
    embedding = weight[target] + 0.8 * torch.randn(3, D, generator=gen, dtype=torch.float64)
    embedding.requires_grad_()
    weight.requires_grad_()

    def loss(x, w):
        return functional_call(head, {"weight": w}, (x, target))

    assert torch.autograd.gradcheck(loss, (embedding, weight), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_cosface_is_the_searched_loss_at_the_cosface_point(dtype, rtol):
    torch.manual_seed(0)
    cosface = CosFaceHead(D, C, scale=30.0, margin_cos=0.40).to(dtype)
    embedding, target = inputs(dtype)
    x1 = embedding.clone().requires_grad_()
    loss = cosface(x1, target)
    loss.backward()

    weight = cosface.weight.detach().clone().requires_grad_()
    x2 = embedding.clone().requires_grad_()
    cosine = F.normalize(x2, dim=1) @ F.normalize(weight, dim=1).t()
    expected = searched_softmax_loss(cosine, target, SearchSpace(6).cosine_margin(0.40), 30.0)
    expected.backward()

    assert abs(loss.item() - expected.item()) <= rtol * abs(expected.item())
    grad_tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(x1.grad, x2.grad, **grad_tol)
    torch.testing.assert_close(cosface.weight.grad, weight.grad, **grad_tol)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_cosface_head_equals_searched_head_at_the_cosface_point(dtype, tol):
    cosface, _ = configured("cosface", dtype)
    searched = SearchedHead(D, C, scale=30.0).to(dtype)
    with torch.no_grad():
        searched.weight.copy_(cosface.weight)
    searched.set_theta(SearchSpace(6).cosine_margin(0.40))
    embedding, target = inputs(dtype)
    loss_c, logits_c = cosface.loss_and_logits(embedding, target)
    loss_s, logits_s = searched.loss_and_logits(embedding, target)
    torch.testing.assert_close(loss_s, loss_c, rtol=tol, atol=tol)
    torch.testing.assert_close(logits_s, logits_c, rtol=tol, atol=tol * 30)


def test_searched_head_at_identity_is_softmax_on_scaled_cosine():
    head = SearchedHead(D, C, scale=30.0).double()
    embedding, target = inputs()
    loss, logits = head.loss_and_logits(embedding, target)
    cosine = F.normalize(embedding, dim=1) @ F.normalize(head.weight, dim=1).t()
    torch.testing.assert_close(loss, F.cross_entropy(30.0 * cosine, target), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(logits, 30.0 * cosine, rtol=1e-12, atol=1e-12)


# --- SphereFace -----------------------------------------------------------------------------------

@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_psi_matches_direct_evaluation_and_is_continuous_and_decreasing(m):
    theta = torch.linspace(0.0, math.pi, 2001, dtype=torch.float64)
    got = sphereface_psi(torch.cos(theta), m)
    expected = torch.tensor([reference.psi(math.acos(math.cos(t)), m) for t in theta.tolist()], dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)
    assert (got[1:] < got[:-1]).all(), "psi must decrease strictly on [0, pi]"
    assert float(got[0]) == pytest.approx(1.0) and float(got[-1]) == pytest.approx(1.0 - 2.0 * m)
    for k in range(1, m):  # both sides of each piece boundary k pi / m agree
        edge = k * math.pi / m
        sides = sphereface_psi(torch.cos(torch.tensor([edge - 1e-9, edge + 1e-9], dtype=torch.float64)), m)
        assert abs(float(sides[0] - sides[1])) < 1e-7


def test_chebyshev_is_cos_of_multiple_angle():
    theta = torch.linspace(0.0, math.pi, 101, dtype=torch.float64)
    for m in range(0, 7):
        torch.testing.assert_close(chebyshev_cos_multiple(torch.cos(theta), m), torch.cos(m * theta),
                                   rtol=0, atol=1e-12)
    c = torch.cos(theta)
    torch.testing.assert_close(chebyshev_cos_multiple(c, 4), 8 * c ** 4 - 8 * c ** 2 + 1, rtol=0, atol=1e-12)


def test_sphereface_lambda_schedule_follows_the_reference():
    assert sphereface_lambda(0) == 1000.0
    assert sphereface_lambda(1) == pytest.approx(1000.0 / 1.12)
    assert sphereface_lambda(100) == pytest.approx(1000.0 / 13.0)
    assert sphereface_lambda(10 ** 6) == 5.0
    # lambda reaches lambda_min once 1000 / (1 + 0.12 it) <= 5, i.e. it >= 199 / 0.12
    first = math.ceil(199 / 0.12)
    assert sphereface_lambda(first) == 5.0 and sphereface_lambda(first - 1) > 5.0


def test_sphereface_head_counts_training_iterations_only():
    head, _ = configured("sphereface")
    head.iteration.zero_()
    embedding, target = inputs()
    _, logits = head.loss_and_logits(embedding, target)  # it = 1
    expected = sphereface_logits(embedding, target, head.weight, 4, 1000.0 / 1.12)
    torch.testing.assert_close(logits, expected, rtol=0, atol=0)
    head.eval()
    head(embedding, target)
    assert int(head.iteration) == 1
    head.train()
    head(embedding, target)
    assert int(head.iteration) == 2 and "iteration" in head.state_dict()


def test_pure_a_softmax_target_logit():
    embedding, target = inputs()
    weight = torch.randn(C, D, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    logits = sphereface_logits(embedding, target, weight, 4, 0.0)
    for i, y in enumerate(target.tolist()):
        x, w = embedding[i].tolist(), weight[y].tolist()
        expected = reference.norm(x) * reference.psi(math.acos(reference.cosine(x, w)), 4)
        assert float(logits[i, y]) == pytest.approx(expected, rel=1e-12, abs=1e-12)


# --- ArcFace --------------------------------------------------------------------------------------

def test_arcface_target_cosine_away_from_the_boundary():
    margin = 0.5
    c = torch.linspace(-0.85, 0.999, 500, dtype=torch.float64)  # theta + m < pi: cos > -cos(m) = -0.8776
    expected = torch.cos(torch.acos(c) + margin)
    torch.testing.assert_close(arcface_target_cosine(c, margin), expected, rtol=0, atol=1e-12)


def test_arcface_insightface_fallback_beyond_the_boundary():
    margin = 0.5
    c = torch.linspace(-1.0, -0.88, 200, dtype=torch.float64)  # theta > pi - m
    got = arcface_target_cosine(c, margin)
    torch.testing.assert_close(got, c - margin * math.sin(margin), rtol=0, atol=1e-12)
    # exact cos(theta + m) would increase again there; the fallback keeps decreasing in theta
    assert (torch.cos(torch.acos(c) + margin)[1:] < torch.cos(torch.acos(c) + margin)[:-1]).all()
    assert (got[1:] > got[:-1]).all()


def test_arcface_easy_margin():
    c = torch.tensor([-0.9, -0.3, 0.0, 0.2, 0.95], dtype=torch.float64)
    got = arcface_target_cosine(c, 0.5, easy_margin=True)
    expected = [reference.arcface_target(v, 0.5, True) for v in c.tolist()]
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-12)


def test_arcface_loss_with_samples_beyond_the_boundary():
    head, opts = configured("arcface")
    target = torch.tensor([0, 1, 2])
    w = head.weight.detach()
    embedding = torch.stack([-w[0], w[1] - 0.05 * w[2], -w[2] + 0.02 * w[3]])  # cos_y = -1, ~1, ~-1
    loss = head(embedding, target)
    expected = reference.mean_loss("arcface", embedding.tolist(), w.tolist(), target.tolist(), opts)
    assert math.isclose(loss.item(), expected, rel_tol=1e-12)
    embedding.requires_grad_()
    head(embedding, target).backward()
    assert torch.isfinite(embedding.grad).all()


# --- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", head_names())
@pytest.mark.parametrize("embedding,target,message", [
    (torch.randn(N, D + 1), torch.arange(N) % C, "`weight` to have shape [C, D] = [C, 6]"),
    (torch.randn(N), torch.arange(N) % C, "`embedding` to have shape [N, D]"),
    (torch.randn(N, D), torch.arange(N + 1) % C, "`target` to have shape [N] = [6]"),
    (torch.randn(N, D), torch.full((N,), C), "`target` entries in [0, C) = [0, 7)"),
    (torch.randn(N, D), torch.zeros(N), "`target` to be an integer"),
    (torch.randn(N, D, dtype=torch.float64), torch.arange(N) % C, "dtype and device of `embedding`"),
])
def test_bad_inputs_are_named(name, embedding, target, message):
    head, _ = configured(name, torch.float32)
    with pytest.raises(HeadError) as info:
        head(embedding, target)
    assert message in str(info.value)


@pytest.mark.parametrize("name,options,message", [
    ("cosfce", {}, "`head.name`: 'cosfce' is not a registered head"),
    ("cosface", {"margin": 0.4}, "`head.options.margin`: unknown option for head 'cosface'"),
    ("arcface", {"marginRad": 3.5}, "`head.options.marginRad`: expected a number in [0, pi)"),
    ("sphereface", {"marginMultiplier": 2.5}, "`head.options.marginMultiplier`: expected a positive integer"),
    ("searched", {"scale": -1}, "`head.options.scale`: expected a positive number"),
    ("softmax", {"scale": 1}, "unknown option for head 'softmax' (known: none)"),
])
def test_registry_errors_name_the_field(name, options, message):
    with pytest.raises(HeadError) as info:
        build_head(name, D, C, options)
    assert message in str(info.value)


def test_registry_options_reach_the_head():
    head = build_head("arcface", D, C, {"scale": 32, "marginRad": 0.3, "easyMargin": True})
    assert (head.scale, head.margin_rad, head.easy_margin) == (32.0, 0.3, True)
    head = build_head("sphereface", D, C, {"marginMultiplier": 2, "lambdaMin": 0})
    assert head.margin_multiplier == 2 and head.lambda_min == 0.0
    head = build_head("searched", D, C, {"numIntervals": 3})
    assert head.theta.shape == (12,)
