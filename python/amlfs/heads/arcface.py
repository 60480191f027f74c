"""ArcFace / additive angular margin loss (Deng et al., "ArcFace", CVPR 2019, Eq. 3).

Features and class weights are L2-normalized; the target logit is ``s cos(theta_y + m)``,
the others ``s cos theta_j``; for CASIA-WebFace the paper uses ``s = 64``, ``m = 0.5`` rad.

Beyond ``theta_y + m > pi`` the exact ``cos(theta_y + m)`` rises again with ``theta_y``
(non-monotonic: a worse sample would get a larger target logit). We follow the reference
implementation (insightface's ``ArcMarginProduct``, ``easy_margin=False``), named here the
**insightface fallback**: for ``theta_y > pi - m`` (i.e. ``cos theta_y < -cos m``) the
target cosine is ``cos theta_y - m sin m`` instead, a CosFace-like margin that stays
decreasing in ``theta_y``. It jumps down at the boundary by ``cos m + m sin m - 1``
(0.118 for ``m = 0.5``), as in the reference. ``easy_margin=True`` gives insightface's other
treatment: the margin only where ``cos theta_y > 0``, plain ``cos theta_y`` elsewhere.

``sin theta_y = sqrt(max(1 - cos^2, 1e-12))`` keeps the gradient finite at ``cos = +-1``
(the exact derivative of ``cos(theta + m)`` in ``cos theta`` is infinite there).
"""
from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn.functional as F

from .base import Head
from .checks import check_inputs, check_number, normalized_cosine
from .errors import HeadError

SCALE = 64.0
MARGIN_RAD = 0.5
SIN_SQUARED_FLOOR = 1e-12


def check_margin_rad(margin_rad) -> float:
    margin_rad = check_number("margin_rad", margin_rad, 0.0)
    if margin_rad >= math.pi:
        raise HeadError(f"Expected `margin_rad` to be in [0, pi) radians, got {margin_rad!r}")
    return margin_rad


def arcface_target_cosine(cos_y: torch.Tensor, margin_rad: float = MARGIN_RAD,
                          easy_margin: bool = False) -> torch.Tensor:
    """The margined target cosine, any shape: ``cos(theta + m)``, with the fallback described above."""
    cos_y = cos_y.clamp(-1.0, 1.0)
    sin_y = (1.0 - cos_y * cos_y).clamp_min(SIN_SQUARED_FLOOR).sqrt()
    shifted = cos_y * math.cos(margin_rad) - sin_y * math.sin(margin_rad)
    if easy_margin:
        return torch.where(cos_y > 0, shifted, cos_y)
    return torch.where(cos_y >= -math.cos(margin_rad), shifted, cos_y - margin_rad * math.sin(margin_rad))


def arcface_logits(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, scale: float = SCALE,
                   margin_rad: float = MARGIN_RAD, easy_margin: bool = False) -> torch.Tensor:
    """``s cos theta_j``, target entry ``s cos(theta_y + m)``: ``[N, C]`` from ``[N, D]``, ``[N]``, ``[C, D]``."""
    target = check_inputs(embedding, target, weight)
    scale = check_number("scale", scale, 0.0, low_open=True)
    margin_rad = check_margin_rad(margin_rad)
    cosine = normalized_cosine(embedding, weight)
    index = target.unsqueeze(1)
    margined = arcface_target_cosine(cosine.gather(1, index), margin_rad, bool(easy_margin))
    return scale * cosine.scatter(1, index, margined)


def arcface_loss(embedding: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, scale: float = SCALE,
                 margin_rad: float = MARGIN_RAD, easy_margin: bool = False) -> torch.Tensor:
    """Mean cross-entropy of :func:`arcface_logits`."""
    logits = arcface_logits(embedding, target, weight, scale, margin_rad, easy_margin)
    return F.cross_entropy(logits, target.long())


class ArcFaceHead(Head):
    """ArcFace head: ``weight [C, D]``, scale ``s``, angular margin ``margin_rad`` (radians)."""

    def __init__(self, embedding_dim: int, num_classes: int, scale: float = SCALE, margin_rad: float = MARGIN_RAD,
                 easy_margin: bool = False):
        super().__init__(embedding_dim, num_classes)
        self.scale = check_number("scale", scale, 0.0, low_open=True)
        self.margin_rad = check_margin_rad(margin_rad)
        if not isinstance(easy_margin, bool):
            raise HeadError(f"Expected `easy_margin` to be true or false, got {easy_margin!r}")
        self.easy_margin = easy_margin

    def loss_and_logits(self, embedding: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        logits = arcface_logits(embedding, target, self.weight, self.scale, self.margin_rad, self.easy_margin)
        return F.cross_entropy(logits, target.long()), logits

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, scale={self.scale}, margin_rad={self.margin_rad}, "
                f"easy_margin={self.easy_margin}")
