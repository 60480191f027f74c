"""10,000 thetas sampled around the identity (std 0.5, as the search draws them): always finite."""
import torch

from amlfs import SearchSpace, searched_softmax_loss, searched_softmax_terms

NUM_THETAS = 10_000


def test_sampled_thetas_give_finite_loss_and_gradients():
    gen = torch.Generator().manual_seed(2019)
    space = SearchSpace(6)
    thetas = space.identity() + 0.5 * torch.randn(NUM_THETAS, space.dim, generator=gen, dtype=torch.float64)
    n, c = 6, 9
    cosines = torch.rand(NUM_THETAS, n, c, generator=gen) * 2 - 1
    # Every 10th batch is extreme: cosines at +-1 and a large scale (p ~ e^-128 or ~ 1).
    cosines[::10] = torch.sign(cosines[::10])
    targets = torch.randint(0, c, (NUM_THETAS, n), generator=gen)
    scales = torch.rand(NUM_THETAS, generator=gen) * 63 + 1
    row_scales = torch.rand(NUM_THETAS, n, 1, generator=gen) * 20 + 1

    bad, floored_rows = [], 0
    for k in range(NUM_THETAS):
        cos = cosines[k].requires_grad_()
        if k % 2:
            scale = float(scales[k])
        else:
            scale = row_scales[k].requires_grad_()
        loss = searched_softmax_loss(cos, targets[k], thetas[k], scale, "none")
        loss.sum().backward()
        ok = bool(torch.isfinite(loss).all()) and bool(torch.isfinite(cos.grad).all())
        if isinstance(scale, torch.Tensor):
            ok = ok and bool(torch.isfinite(scale.grad).all())
        if not ok:
            bad.append(k)
        if k % 50 == 0:
            floored_rows += int(searched_softmax_terms(cosines[k], targets[k], thetas[k], 10.0).log_tau.floored.sum())
    assert not bad, f"non-finite loss or gradient for thetas {bad[:10]} (of {len(bad)})"
    assert floored_rows > 0  # the draw does reach the floored pieces of the validity policy
    assert bool((thetas[:, :6] < 0).any()) and bool((thetas[:, 12:18] < 0).any())  # and negative slopes
