"""A plain linear classifier seen as a softmax branch of the searched loss (Li et al., ICCV 2019, Sec. 3.1).

For ``f_j = W_j . x`` the loss needs ``cos_j = f_j / (||x|| ||W_j||)`` and
``s_j = ||x|| ||W_j||``, so that ``s_j * cos_j`` gives back the logits exactly and the
identity ``theta`` is plain cross-entropy on them.
"""
from __future__ import annotations

from typing import Tuple

import torch


def cosine_and_scale(features: torch.Tensor, weight: torch.Tensor, eps: float = 1e-12) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(cosine [N, C], scale [N, C])`` of a bias-free linear classifier.

    Args:
        features: ``x``, ``[N, D]``.
        weight: ``W``, ``[C, D]`` (``nn.Linear(D, C, bias=False).weight``).
        eps: lower bound of each norm, so that a zero feature or weight row gives
            ``cosine = 0`` and a tiny scale instead of NaN.

    Both outputs carry gradients to ``features`` and ``weight``.
    """
    if features.dim() != 2 or weight.dim() != 2 or features.shape[1] != weight.shape[1]:
        raise ValueError(f"Expected features [N, D] and weight [C, D], got {list(features.shape)} and "
                         f"{list(weight.shape)}")
    x_norm = features.norm(dim=1, keepdim=True).clamp_min(eps)  # [N, 1]
    w_norm = weight.norm(dim=1).clamp_min(eps).unsqueeze(0)  # [1, C]
    scale = x_norm * w_norm
    cosine = (features @ weight.t()) / scale
    return cosine, scale
