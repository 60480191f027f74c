import pytest
import torch
import torch.nn.functional as F

from amlfs import SearchedSoftmaxLoss, SearchSpace, searched_softmax_loss


def inputs(seed=0, n=10, c=12, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, c, generator=gen, dtype=dtype) * 2 - 1), torch.randint(0, c, (n,), generator=gen)


def test_starts_at_identity_as_a_float64_buffer():
    loss = SearchedSoftmaxLoss(num_intervals=4)
    assert torch.equal(loss.theta, SearchSpace(4).identity())
    assert "theta_buffer" in loss.state_dict()
    assert list(loss.parameters()) == []


def test_set_theta_changes_the_loss_like_the_function():
    theta = SearchSpace(6).cosine_margin(0.3)
    module = SearchedSoftmaxLoss(reduction="sum")
    module.set_theta(theta.tolist())
    assert torch.equal(module.theta, theta)
    cosine, target = inputs()
    expected = searched_softmax_loss(cosine, target, theta, 20.0, "sum")
    torch.testing.assert_close(module(cosine, target, 20.0), expected, rtol=0, atol=0)


def test_theta_property_is_a_copy():
    module = SearchedSoftmaxLoss()
    module.theta[0] = 5.0
    assert module.theta[0].item() == 1.0


def test_set_theta_validates_and_keeps_the_old_value_on_error():
    module = SearchedSoftmaxLoss()
    bad = SearchSpace(6).identity()
    bad[7] = float("nan")
    with pytest.raises(ValueError, match=r"`theta`.*index 7"):
        module.set_theta(bad)
    with pytest.raises(ValueError, match=r"`theta`.*\[24\]"):
        module.set_theta([1.0] * 20)
    assert torch.equal(module.theta, SearchSpace(6).identity())


def test_reduction_is_validated():
    with pytest.raises(ValueError, match="`reduction`"):
        SearchedSoftmaxLoss(reduction="avg")


def test_gradient_flows_and_casting_the_module_keeps_theta_float64():
    module = SearchedSoftmaxLoss().half()
    assert module.theta_buffer.dtype == torch.float64
    cosine, target = inputs(dtype=torch.float32)
    cosine.requires_grad_()
    module(cosine, target, 16.0).backward()
    reference = cosine.detach().clone().requires_grad_()
    F.cross_entropy(16.0 * reference, target).backward()
    torch.testing.assert_close(cosine.grad, reference.grad, rtol=1e-4, atol=1e-6)


def test_state_dict_round_trip():
    source = SearchedSoftmaxLoss()
    source.set_theta(SearchSpace(6).cosine_margin(0.4))
    target = SearchedSoftmaxLoss()
    target.load_state_dict(source.state_dict())
    assert torch.equal(target.theta, source.theta)


def test_a_loaded_non_finite_theta_is_rejected_at_forward():
    module = SearchedSoftmaxLoss()
    state = module.state_dict()
    state["theta_buffer"][2] = float("nan")
    module.load_state_dict(state)
    cosine, target = inputs()
    with pytest.raises(ValueError, match=r"`theta`.*index 2"):
        module(cosine, target, 10.0)
