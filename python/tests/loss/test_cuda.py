"""The same checks on CUDA when a GPU is present (skipped otherwise)."""
import pytest
import torch
import torch.nn.functional as F

from amlfs import SearchedSoftmaxLoss, SearchSpace, searched_softmax_loss

from .loop_reference import batch_loss

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def cuda_inputs(dtype, n=32, c=50, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cosine = (torch.rand(n, c, generator=gen, dtype=torch.float64) * 2 - 1).to(dtype)
    target = torch.randint(0, c, (n,), generator=gen)
    return cosine.to("cuda"), target.to("cuda")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_identity_equals_cross_entropy_on_cuda(dtype):
    cosine, target = cuda_inputs(dtype)
    scale = torch.rand(32, 1, dtype=dtype, device="cuda").add_(10).requires_grad_()
    ours = cosine.clone().requires_grad_()
    loss = searched_softmax_loss(ours, target, SearchSpace().identity(), scale)
    loss.backward()
    ref, ref_scale = cosine.clone().requires_grad_(), scale.detach().clone().requires_grad_()
    expected = F.cross_entropy(ref_scale * ref, target)
    expected.backward()
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5)
    assert loss.device.type == "cuda"
    torch.testing.assert_close(loss, expected, **tol)
    torch.testing.assert_close(ours.grad, ref.grad, **tol)
    torch.testing.assert_close(scale.grad, ref_scale.grad, **tol)


def test_random_theta_matches_loop_on_cuda():
    gen = torch.Generator().manual_seed(3)
    theta = SearchSpace().identity() + 0.5 * torch.randn(24, generator=gen, dtype=torch.float64)
    cosine, target = cuda_inputs(torch.float64, n=6, c=7, seed=3)
    cos = cosine.clone().requires_grad_()
    loss = searched_softmax_loss(cos, target, theta, 12.0, "none")
    loss.sum().backward()
    rows = [[12.0] * 7] * 6
    losses, _, grad_cos, _ = batch_loss(theta.tolist(), 6, cosine.cpu().tolist(), target.cpu().tolist(), rows)
    torch.testing.assert_close(loss.cpu(), torch.tensor(losses, dtype=torch.float64), rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(cos.grad.cpu(), torch.tensor(grad_cos, dtype=torch.float64), rtol=1e-9, atol=1e-12)


def test_module_moves_to_cuda_and_keeps_theta_float64():
    module = SearchedSoftmaxLoss().to("cuda")
    assert module.theta_buffer.device.type == "cuda" and module.theta_buffer.dtype == torch.float64
    cosine, target = cuda_inputs(torch.float32)
    expected = F.cross_entropy(30.0 * cosine, target)
    torch.testing.assert_close(module(cosine, target, 30.0), expected, rtol=1e-5, atol=0.0)
