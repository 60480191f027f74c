"""t(x) = x - m everywhere is CosFace / AM-softmax: cross-entropy of s (cos - m onehot)."""
import pytest
import torch
import torch.nn.functional as F

from amlfs import SearchSpace, searched_softmax_loss


@pytest.mark.parametrize(
    "dtype,tol", [(torch.float64, dict(rtol=1e-10, atol=1e-12)), (torch.float32, dict(rtol=2e-5, atol=2e-5))]
)
@pytest.mark.parametrize("margin,scale", [(0.35, 30.0), (0.2, 64.0), (0.5, 8.0)])
def test_cosine_margin_is_cosface(dtype, tol, margin, scale):
    gen = torch.Generator().manual_seed(int(margin * 100))
    n, c = 40, 57
    cosine = (torch.rand(n, c, generator=gen, dtype=torch.float64) * 2 - 1).to(dtype)
    target = torch.randint(0, c, (n,), generator=gen)
    theta = SearchSpace(6).cosine_margin(margin)

    ours = cosine.clone().requires_grad_()
    loss = searched_softmax_loss(ours, target, theta, scale, "none")
    loss.sum().backward()

    ref = cosine.clone().requires_grad_()
    onehot = F.one_hot(target, c).to(dtype)
    expected = F.cross_entropy(scale * (ref - margin * onehot), target, reduction="none")
    expected.sum().backward()

    torch.testing.assert_close(loss, expected, **tol)
    torch.testing.assert_close(ours.grad, ref.grad, **tol)
