"""``SearchedCrossEntropyLoss``: the searched loss as a drop-in for ``nn.CrossEntropyLoss`` after a linear head.

References, independent of the code under test: ``F.cross_entropy`` (identity theta),
CosFace's formula written out (``t(x) = x - m``), and cosine and scale of the augmented
vectors ``[x, 1]`` and ``[W_j, b_j]`` computed row by row in a plain loop.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from amlfs import SearchSpace, searched_softmax_loss
from amlfs.worker.plugin import SearchedCrossEntropyLoss

M = 6


def model_and_batch(bias: bool, seed: int = 0, n: int = 7, classes: int = 5):
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    head = nn.Linear(4, classes, bias=bias)
    x = torch.randn(n, 3, dtype=torch.float64)
    target = torch.randint(0, classes, (n,))
    return nn.Sequential(body, head).double(), head, x, target


@pytest.mark.parametrize("bias", [True, False])
def test_identity_theta_is_cross_entropy_with_equal_gradients(bias):
    model, head, x, target = model_and_batch(bias)
    criterion = SearchedCrossEntropyLoss(head, M)
    loss = criterion(model(x), target)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    reference = F.cross_entropy(model(x), target)
    expected = torch.autograd.grad(reference, list(model.parameters()))
    torch.testing.assert_close(loss, reference, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_cosine_margin_on_a_bias_free_head_is_cosface_with_scale_norms():
    model, head, x, target = model_and_batch(bias=False)
    margin = 0.3
    criterion = SearchedCrossEntropyLoss(head, M)
    criterion.set_theta(SearchSpace(M).cosine_margin(margin))
    loss = criterion(model(x), target)
    features = model[0](x)
    expected = 0.0
    for i in range(x.shape[0]):  # plain loop: f_j = ||W_j|| ||x|| cos_j, target cosine minus m
        logits = []
        for j in range(head.weight.shape[0]):
            scale = head.weight[j].norm() * features[i].norm()
            cosine = head.weight[j] @ features[i] / scale
            logits.append(scale * (cosine - margin if j == target[i] else cosine))
        expected = expected - torch.log_softmax(torch.stack(logits), 0)[target[i]]
    torch.testing.assert_close(loss, expected / x.shape[0], rtol=1e-10, atol=1e-12)


def test_a_bias_is_folded_in_as_one_more_feature():
    model, head, x, target = model_and_batch(bias=True, seed=1)
    theta = SearchSpace(M).identity().clone()
    theta[0:M] = torch.linspace(0.8, 1.2, M)  # a_t, b_t, a_tau, b_tau: not the identity
    theta[M:2 * M] = -0.1
    theta[2 * M:3 * M] = 0.9
    criterion = SearchedCrossEntropyLoss(head, M)
    criterion.set_theta(theta)
    loss = criterion(model(x), target)
    features = model[0](x)
    cosine = torch.empty(x.shape[0], head.weight.shape[0], dtype=torch.float64)
    scale = torch.empty_like(cosine)
    for i in range(x.shape[0]):
        xa = torch.cat([features[i], torch.ones(1, dtype=torch.float64)])
        for j in range(head.weight.shape[0]):
            wa = torch.cat([head.weight[j], head.bias[j:j + 1]])
            scale[i, j] = xa.norm() * wa.norm()
            cosine[i, j] = wa @ xa / scale[i, j]
    torch.testing.assert_close(loss, searched_softmax_loss(cosine, target, theta, scale), rtol=1e-10, atol=1e-12)


def test_logits_not_straight_from_the_head_are_refused():
    model, head, x, target = model_and_batch(bias=True)
    criterion = SearchedCrossEntropyLoss(head, M)
    with pytest.raises(ValueError, match="last forward"):
        criterion(model(x) * 2.0, target)
    with pytest.raises(ValueError, match="last forward"):
        criterion(torch.zeros(7, 5, dtype=torch.float64), target)
    logits = model(x)
    criterion(logits, target)
    with pytest.raises(ValueError, match="last forward"):  # one loss per forward
        criterion(logits, target)
    with pytest.raises(TypeError, match="torch.nn.Linear"):
        SearchedCrossEntropyLoss(model)


def test_theta_length_sets_m_and_mean_loss_is_the_mean_of_batch_losses():
    model, head, x, target = model_and_batch(bias=False)
    criterion = SearchedCrossEntropyLoss(head, M)
    with pytest.raises(ValueError, match="4 M entries"):
        criterion.set_theta([1.0] * 7)
    criterion.set_theta(SearchSpace(3).cosine_margin(0.1))
    assert criterion.theta.shape == (12,)
    assert math.isnan(criterion.mean_loss)
    losses = [criterion(model(x[i:i + 3]), target[i:i + 3]).item() for i in (0, 2, 4)]
    assert criterion.mean_loss == pytest.approx(sum(losses) / 3, rel=1e-12)
    assert criterion.stats is criterion.searched.stats and criterion.stats.summary()["examples"] == 9
    criterion.reset_stats()
    assert math.isnan(criterion.mean_loss)
    assert criterion.stats.summary() is None
