"""Under the identity theta the searched loss is softmax cross-entropy (docs/algorithm.md)."""
import pytest
import torch
import torch.nn.functional as F

from amlfs import SearchedSoftmaxLoss, SearchSpace, searched_softmax_loss

from .loop_reference import batch_loss

IDENTITY = SearchSpace(6).identity()
SIZES = [(1, 2), (7, 5), (64, 100), (33, 1000)]
SCALES = [1.0, 16.0, 64.0]


def random_inputs(n, c, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    cosine = (torch.rand(n, c, generator=gen, dtype=torch.float64) * 2 - 1).to(dtype)
    target = torch.randint(0, c, (n,), generator=gen)
    return cosine, target


@pytest.mark.parametrize("n,c", SIZES)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_float64_loss_equals_cross_entropy(n, c, scale, reduction):
    cosine, target = random_inputs(n, c, torch.float64, seed=n * c)
    got = searched_softmax_loss(cosine, target, IDENTITY, scale, reduction)
    expected = F.cross_entropy(scale * cosine, target, reduction=reduction)
    assert got.dtype == torch.float64 and got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("n,c", SIZES)
@pytest.mark.parametrize("scale", SCALES)
def test_float32_loss_equals_cross_entropy(n, c, scale):
    cosine, target = random_inputs(n, c, torch.float32, seed=n + c)
    for reduction in ("mean", "sum"):
        got = searched_softmax_loss(cosine, target, IDENTITY, scale, reduction)
        expected = F.cross_entropy(scale * cosine, target, reduction=reduction)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=0.0)
    # Per sample, float32 cross-entropy itself is off by ~1e-7 |logsumexp| where the loss is
    # tiny; against the exact float64 value ours stays within 1e-5 relative everywhere.
    got = searched_softmax_loss(cosine, target, IDENTITY, scale, "none")
    exact = F.cross_entropy(scale * cosine.double(), target, reduction="none")
    torch.testing.assert_close(got.double(), exact, rtol=1e-5, atol=1e-12)


SCALE_SHAPES = [None, (), (1,), "rows", "cols", "full"]


def make_scale(shape, n, c, dtype, gen):
    if shape is None:
        return 24.0
    size = {"rows": (n, 1), "cols": (1, c), "full": (n, c)}.get(shape, shape)
    return (torch.rand(size, generator=gen, dtype=torch.float64) * 20 + 1).to(dtype).requires_grad_()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", SCALE_SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradients_equal_cross_entropy(dtype, shape, reduction):
    n, c = 9, 13
    gen = torch.Generator().manual_seed(5)
    cosine, target = random_inputs(n, c, dtype, seed=17)
    scale = make_scale(shape, n, c, dtype, gen)
    weights = torch.rand(n, generator=gen, dtype=dtype)  # a non-uniform incoming gradient for "none"

    def run(loss_fn):
        cos = cosine.clone().requires_grad_()
        s = scale.detach().clone().requires_grad_() if isinstance(scale, torch.Tensor) else scale
        loss = loss_fn(cos, s)
        (loss * weights).sum().backward() if reduction == "none" else loss.backward()
        return loss, cos.grad, (s.grad if isinstance(s, torch.Tensor) else None)

    got = run(lambda cos, s: searched_softmax_loss(cos, target, IDENTITY, s, reduction))
    expected = run(lambda cos, s: F.cross_entropy(s * cos, target, reduction=reduction))
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-4, atol=2e-5)
    for g, e in zip(got, expected):
        if e is None:
            assert g is None
        else:
            assert g.shape == e.shape and g.dtype == e.dtype
            torch.testing.assert_close(g, e, **tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_vanishing_target_probability(dtype):
    # p ~ e^-128 / 3 (float32 softmax underflows; log-softmax does not).
    cosine = torch.tensor([[-1.0, 1.0, 1.0, 1.0], [-0.9, 0.95, 0.2, -0.3]], dtype=dtype, requires_grad=True)
    target = torch.tensor([0, 0])
    loss = searched_softmax_loss(cosine, target, IDENTITY, 64.0, "none")
    loss.sum().backward()
    ref_cos = cosine.detach().clone().requires_grad_()
    expected = F.cross_entropy(64.0 * ref_cos, target, reduction="none")
    expected.sum().backward()
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=0.0)
    torch.testing.assert_close(cosine.grad, ref_cos.grad, rtol=1e-5, atol=1e-5)
    assert loss[0].item() > 128.0


def test_probability_below_float64_range():
    # p ~ e^-1000: exp(log p) is 0 in float64, the loss stays exact.
    cosine = torch.tensor([[-1.0, 1.0, 1.0]], dtype=torch.float64)
    got = searched_softmax_loss(cosine, torch.tensor([0]), IDENTITY, 500.0)
    expected = F.cross_entropy(500.0 * cosine, torch.tensor([0]))
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_probability_near_one_keeps_relative_accuracy(dtype):
    # 1 - p ~ 4e-18: float64 log-softmax returns 0; the loop reference uses log1p.
    cosine = [[1.0, -1.0, -1.0], [0.9, 0.1, 0.2]]
    target = [0, 0]
    expected, *_ = batch_loss(IDENTITY.tolist(), 6, cosine, target, [[20.0] * 3] * 2)
    got = searched_softmax_loss(torch.tensor(cosine, dtype=dtype), torch.tensor(target), IDENTITY, 20.0, "none")
    assert expected[0] < 1e-16
    torch.testing.assert_close(got.double(), torch.tensor(expected, dtype=torch.float64), rtol=1e-5, atol=0.0)


def test_float16_inputs_are_computed_in_float32():
    cosine, target = random_inputs(8, 10, torch.float16, seed=1)
    got = searched_softmax_loss(cosine, target, IDENTITY, 30.0)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, F.cross_entropy(30.0 * cosine.float(), target), rtol=1e-5, atol=0.0)


def test_module_default_is_cross_entropy():
    cosine, target = random_inputs(16, 20, torch.float64, seed=2)
    got = SearchedSoftmaxLoss()(cosine, target, 30.0)
    torch.testing.assert_close(got, F.cross_entropy(30.0 * cosine, target), rtol=1e-12, atol=0.0)


def test_non_contiguous_cosine_and_long_rows():
    gen = torch.Generator().manual_seed(8)
    transposed = (torch.rand(50, 8, generator=gen, dtype=torch.float64) * 2 - 1).t()
    strided = (torch.rand(8, 100, generator=gen, dtype=torch.float64) * 2 - 1)[:, ::2]
    long_rows = torch.rand(3, 40000, generator=gen, dtype=torch.float64) * 2 - 1
    for cosine in (transposed, strided, long_rows):
        target = torch.randint(0, cosine.shape[1], (cosine.shape[0],), generator=gen)
        ours = cosine.detach().requires_grad_()
        loss = searched_softmax_loss(ours, target, IDENTITY, 30.0)
        loss.backward()
        ref = cosine.detach().clone().requires_grad_()
        expected = F.cross_entropy(30.0 * ref, target)
        expected.backward()
        torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0.0)
        torch.testing.assert_close(ours.grad, ref.grad, rtol=1e-9, atol=1e-13)
