"""SphereFace / A-softmax (Liu et al., "SphereFace", CVPR 2017, Eq. 6-7), with its annealing schedule.

Class weights are L2-normalized, features are not: the logits are ``||x|| cos theta_j``
for ``j != y`` and ``||x|| psi(theta_y)`` for the target, with (``m = 4``)

    psi(theta) = (-1)^k cos(m theta) - 2k,   theta in [k pi / m, (k + 1) pi / m], k = 0 .. m-1,

which is continuous and decreasing on ``[0, pi]``. ``cos(m theta)`` is computed from
``c = cos theta`` by the Chebyshev polynomial ``T_m(c)`` (``T_0 = 1``, ``T_1 = c``,
``T_{n+1} = 2 c T_n - T_{n-1}``; ``T_4 = 8c^4 - 8c^2 + 1``), so the gradient goes through
``c`` without ``acos``; ``k = floor(m acos(c) / pi)`` is piecewise constant and computed
without gradient (``psi`` is C1 in ``theta``, so the pieces join smoothly).

**Annealing.** Training with the bare A-softmax does not converge; the reference code
(wy1iu/sphereface, Caffe ``MarginInnerProductLayer`` and ``sphereface_model.prototxt``)
replaces the target logit by

    f_y = (lambda ||x|| cos theta_y + ||x|| psi(theta_y)) / (1 + lambda),
    lambda = max(lambda_min, base (1 + gamma it)^(-power)),  base 1000, gamma 0.12, power 1, lambda_min 5,

where ``it`` counts training forward passes and is incremented before use (the first
batch has ``it = 1``). We follow that reference, with one documented difference: the
Caffe layer back-propagates a *normalized* gradient (its README: "we normalize the scale
of gradient"); we use the true gradient of the forward above, as the paper's equations
(the reference authors note the true gradient also works, possibly with other lambda
settings). ``lambda = 0`` is the pure A-softmax of Eq. 7.
"""
from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn.functional as F

from .base import Head
from .checks import NORM_EPS, check_inputs, check_number
from .errors import HeadError

MARGIN_MULTIPLIER = 4
LAMBDA_BASE = 1000.0
LAMBDA_GAMMA = 0.12
LAMBDA_POWER = 1.0
LAMBDA_MIN = 5.0


def check_multiplier(margin_multiplier) -> int:
    if isinstance(margin_multiplier, bool) or not isinstance(margin_multiplier, int) or margin_multiplier < 1:
        raise HeadError(f"Expected `margin_multiplier` (m) to be an integer >= 1, got {margin_multiplier!r}")
    return margin_multiplier


def chebyshev_cos_multiple(cosine: torch.Tensor, multiplier: int) -> torch.Tensor:
    """``cos(m theta) = T_m(cos theta)``, elementwise, by the three-term recurrence."""
    previous, current = torch.ones_like(cosine), cosine
    if multiplier == 0:
        return previous
    for _ in range(multiplier - 1):
        previous, current = current, 2.0 * cosine * current - previous
    return current


def sphereface_psi(cosine: torch.Tensor, margin_multiplier: int = MARGIN_MULTIPLIER) -> torch.Tensor:
    """``psi(theta) = (-1)^k cos(m theta) - 2k`` of ``cosine = cos theta`` (any shape; clamped to [-1, 1])."""
    m = check_multiplier(margin_multiplier)
    cosine = cosine.clamp(-1.0, 1.0)
    with torch.no_grad():
        k = torch.floor(torch.acos(cosine) * (m / math.pi)).clamp(0, m - 1)
        sign = 1.0 - 2.0 * torch.remainder(k, 2.0)
    return sign * chebyshev_cos_multiple(cosine, m) - 2.0 * k


def sphereface_lambda(iteration: int, base: float = LAMBDA_BASE, gamma: float = LAMBDA_GAMMA,
                      power: float = LAMBDA_POWER, lambda_min: float = LAMBDA_MIN) -> float:
    """``max(lambda_min, base (1 + gamma iteration)^(-power))``, the reference annealing schedule."""
    return max(lambda_min, base * (1.0 + gamma * iteration) ** (-power))


def sphereface_logits(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                      margin_multiplier: int = MARGIN_MULTIPLIER, lambda_weight: float = 0.0) -> torch.Tensor:
    """A-softmax logits ``[N, C]`` from ``embedding [N, D]``, ``target [N]``, ``weight [C, D]``.

    ``lambda_weight``: the annealing ``lambda >= 0`` (0 = pure A-softmax); the target logit
    is ``||x|| (lambda cos theta_y + psi(theta_y)) / (1 + lambda)``.
    """
    target = check_inputs(embedding, target, weight)
    m = check_multiplier(margin_multiplier)
    lambda_weight = check_number("lambda_weight", lambda_weight, 0.0)
    x_norm = embedding.norm(dim=1, keepdim=True).clamp_min(NORM_EPS)  # [N, 1]
    logits = embedding @ F.normalize(weight, dim=1, eps=NORM_EPS).t()  # ||x|| cos theta_j
    index = target.unsqueeze(1)
    cos_y = logits.gather(1, index) / x_norm
    margined = x_norm * (lambda_weight * cos_y + sphereface_psi(cos_y, m)) / (1.0 + lambda_weight)
    return logits.scatter(1, index, margined)


def sphereface_loss(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                    margin_multiplier: int = MARGIN_MULTIPLIER, lambda_weight: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy of :func:`sphereface_logits`."""
    logits = sphereface_logits(embedding, target, weight, margin_multiplier, lambda_weight)
    return F.cross_entropy(logits, target.long())


class SphereFaceHead(Head):
    """A-softmax head with the reference annealing; ``iteration`` is a buffer (saved in the ``state_dict``).

    In training mode each :meth:`loss_and_logits` (and ``forward``) first increments
    ``iteration``, then uses :attr:`current_lambda`; in eval mode the counter stays.
    """

    iteration: torch.Tensor

    def __init__(self, embedding_dim: int, num_classes: int, margin_multiplier: int = MARGIN_MULTIPLIER,
                 lambda_base: float = LAMBDA_BASE, lambda_gamma: float = LAMBDA_GAMMA,
                 lambda_power: float = LAMBDA_POWER, lambda_min: float = LAMBDA_MIN):
        super().__init__(embedding_dim, num_classes)
        self.margin_multiplier = check_multiplier(margin_multiplier)
        self.lambda_base = check_number("lambda_base", lambda_base, 0.0)
        self.lambda_gamma = check_number("lambda_gamma", lambda_gamma, 0.0)
        self.lambda_power = check_number("lambda_power", lambda_power, 0.0)
        self.lambda_min = check_number("lambda_min", lambda_min, 0.0)
        self.register_buffer("iteration", torch.zeros((), dtype=torch.int64))

    @property
    def current_lambda(self) -> float:
        return sphereface_lambda(int(self.iteration), self.lambda_base, self.lambda_gamma, self.lambda_power,
                                 self.lambda_min)

    def loss_and_logits(self, embedding: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        check_inputs(embedding, target, self.weight)  # before counting the iteration
        if self.training:
            self.iteration += 1
        logits = sphereface_logits(embedding, target, self.weight, self.margin_multiplier, self.current_lambda)
        return F.cross_entropy(logits, target.long()), logits

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, margin_multiplier={self.margin_multiplier}, "
                f"lambda=max({self.lambda_min}, {self.lambda_base} (1 + {self.lambda_gamma} it)^-{self.lambda_power})")
