"""Arbitrary theta against the plain float64 loop of loop_reference.py."""
import random

import pytest
import torch

from amlfs import SearchSpace, searched_softmax_loss, searched_softmax_terms

from .loop_reference import batch_loss

M = 6


def random_theta(rng, std):
    return [v + rng.gauss(0.0, std) for v in SearchSpace(M).identity().tolist()]


def broadcast_rows(scale, n, c):
    if isinstance(scale, float):
        return [[scale] * c for _ in range(n)]
    full = scale.detach().double().expand(n, c)
    return full.tolist()


def scale_for(kind, n, c, rng):
    if kind == "number":
        return rng.uniform(2.0, 40.0)
    shape = {"rows": (n, 1), "cols": (1, c), "full": (n, c), "scalar": ()}[kind]
    gen = torch.Generator().manual_seed(rng.randrange(1 << 30))
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 30 + 1).requires_grad_()


def reduce_to(full, shape):
    return torch.tensor(full, dtype=torch.float64).sum_to_size(shape)


@pytest.mark.parametrize("t_scale_grad", ["full", "plain"])
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", ["number", "rows", "cols", "full", "scalar"])
def test_random_theta_float64_matches_loop(seed, kind, t_scale_grad):
    rng = random.Random(seed * 31 + len(kind))
    n, c = rng.randint(1, 6), rng.randint(2, 9)
    theta = random_theta(rng, 0.5)
    cosine = [[rng.uniform(-1.0, 1.0) for _ in range(c)] for _ in range(n)]
    target = [rng.randrange(c) for _ in range(n)]
    scale = scale_for(kind, n, c, rng)

    losses, floored, grad_cos, grad_s = batch_loss(theta, M, cosine, target, broadcast_rows(scale, n, c), t_scale_grad)

    cos = torch.tensor(cosine, dtype=torch.float64, requires_grad=True)
    tgt = torch.tensor(target)
    theta_t = torch.tensor(theta, dtype=torch.float64)
    loss = searched_softmax_loss(cos, tgt, theta_t, scale, "none", t_scale_grad=t_scale_grad)
    loss.sum().backward()
    torch.testing.assert_close(loss, torch.tensor(losses, dtype=torch.float64), rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(cos.grad, torch.tensor(grad_cos, dtype=torch.float64), rtol=1e-9, atol=1e-12)
    if isinstance(scale, torch.Tensor):
        torch.testing.assert_close(scale.grad, reduce_to(grad_s, scale.shape), rtol=1e-9, atol=1e-12)
    terms = searched_softmax_terms(cos.detach(), tgt, theta, scale.detach() if kind != "number" else scale)
    assert terms.log_tau.floored.tolist() == floored


@pytest.mark.parametrize("seed", range(6))
def test_random_theta_float32_matches_loop(seed):
    rng = random.Random(1000 + seed)
    n, c = 8, 30
    theta = random_theta(rng, 0.3)
    cosine32 = (torch.rand(n, c, generator=torch.Generator().manual_seed(seed)) * 2 - 1)
    target = [rng.randrange(c) for _ in range(n)]
    scale = 30.0
    # The reference sees the float32 values exactly.
    losses, _, grad_cos, _ = batch_loss(theta, M, cosine32.double().tolist(), target, broadcast_rows(scale, n, c))
    cos = cosine32.clone().requires_grad_()
    loss = searched_softmax_loss(cos, torch.tensor(target), theta, scale, "none")
    loss.sum().backward()
    assert loss.dtype == torch.float32 and cos.grad.dtype == torch.float32
    torch.testing.assert_close(loss.double(), torch.tensor(losses, dtype=torch.float64), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(cos.grad.double(), torch.tensor(grad_cos, dtype=torch.float64), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reductions_of_the_per_sample_loss(reduction):
    rng = random.Random(7)
    theta = random_theta(rng, 0.5)
    n, c = 5, 7
    cosine = [[rng.uniform(-1.0, 1.0) for _ in range(c)] for _ in range(n)]
    target = [rng.randrange(c) for _ in range(n)]
    losses, _, grad_cos, _ = batch_loss(theta, M, cosine, target, broadcast_rows(12.0, n, c))
    cos = torch.tensor(cosine, dtype=torch.float64, requires_grad=True)
    loss = searched_softmax_loss(cos, torch.tensor(target), theta, 12.0, reduction)
    (3.0 * loss).backward()
    factor = 1.0 / n if reduction == "mean" else 1.0
    assert loss.shape == ()
    assert abs(loss.item() - sum(losses) * factor) < 1e-12 * max(1.0, abs(loss.item()))
    expected = 3.0 * factor * torch.tensor(grad_cos, dtype=torch.float64)
    torch.testing.assert_close(cos.grad, expected, rtol=1e-9, atol=1e-12)


def test_second_backward_through_a_retained_graph_is_correct():
    rng = random.Random(9)
    theta = random_theta(rng, 0.5)
    cos = (torch.rand(6, 9, generator=torch.Generator().manual_seed(3)) * 2 - 1).requires_grad_()
    target = torch.randint(0, 9, (6,), generator=torch.Generator().manual_seed(4))
    loss = searched_softmax_loss(cos, target, theta, 10.0)
    (first,) = torch.autograd.grad(loss, cos, retain_graph=True)
    (second,) = torch.autograd.grad(loss, cos)
    torch.testing.assert_close(first, second, rtol=0.0, atol=0.0)
    rows = broadcast_rows(10.0, 6, 9)
    _, _, grad_cos, _ = batch_loss(theta, M, cos.detach().double().tolist(), target.tolist(), rows)
    torch.testing.assert_close(second.double(), torch.tensor(grad_cos, dtype=torch.float64) / 6, rtol=1e-4, atol=1e-6)


def test_theta_gets_no_gradient_and_double_backward_raises():
    theta = SearchSpace(M).identity().requires_grad_()
    cos = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    loss = searched_softmax_loss(cos, torch.tensor([0, 1, 2]), theta, 5.0)
    (grad,) = torch.autograd.grad(loss, cos, create_graph=True)
    assert theta.grad is None
    with pytest.raises(RuntimeError):
        grad.sum().backward()
