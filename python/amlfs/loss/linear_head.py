"""A linear classifier seen as a softmax branch of the searched loss (Li et al., ICCV 2019, Sec. 3.1).

For ``f_j = W_j . x`` the loss needs ``cos_j = f_j / (||x|| ||W_j||)`` and
``s_j = ||x|| ||W_j||``, so that ``s_j * cos_j`` gives back the logits exactly and the
identity ``theta`` is plain cross-entropy on them. A bias is folded in as one more
feature: ``W x + b = [W, b] . [x, 1]``.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch


def cosine_and_scale(features: torch.Tensor, weight: torch.Tensor, eps: float = 1e-12, *,
                     bias: Optional[torch.Tensor] = None,
                     logits: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(cosine [N, C], scale [N, C])`` of a linear classifier, ``scale * cosine == logits``.

    Args:
        features: ``x``, ``[N, D]``.
        weight: ``W``, ``[C, D]`` (``nn.Linear(D, C).weight``).
        eps: lower bound of each norm, so that a zero feature or weight row gives
            ``cosine = 0`` and a tiny scale instead of NaN.
        bias: ``b``, ``[C]`` or None; with it, ``scale_ij = ||[x_i, 1]|| * ||[W_j, b_j]||``.
        logits: the classifier's output ``[N, C]`` when it is already computed (its
            gradient then flows through it); default ``x W^T + b``.

    Both outputs carry gradients to ``features`` and ``weight`` (and ``bias``).
    """
    if features.dim() != 2 or weight.dim() != 2 or features.shape[1] != weight.shape[1]:
        raise ValueError(f"Expected features [N, D] and weight [C, D], got {list(features.shape)} and "
                         f"{list(weight.shape)}")
    if bias is not None:
        features = torch.cat([features, features.new_ones(features.shape[0], 1)], dim=1)
        weight = torch.cat([weight, bias.unsqueeze(1)], dim=1)
    x_norm = features.norm(dim=1, keepdim=True).clamp_min(eps)  # [N, 1]
    w_norm = weight.norm(dim=1).clamp_min(eps).unsqueeze(0)  # [1, C]
    scale = x_norm * w_norm
    if logits is None:
        logits = features @ weight.t()
    return logits / scale, scale


def linear_cosine_and_scale(logits: torch.Tensor, features: torch.Tensor, weight: torch.Tensor,
                            bias: Optional[torch.Tensor], eps: float = 1e-12) -> Tuple[torch.Tensor, torch.Tensor]:
    """:func:`cosine_and_scale` of a head's output ``logits [N, C]`` and its input ``features [N, D]``.

    Gradients reach ``logits``, ``features`` and the head's parameters.
    """
    if features.dim() != 2 or logits.dim() != 2 or logits.shape[0] != features.shape[0]:
        raise ValueError(f"Expected logits [N, C] and the head's input [N, D], got {list(logits.shape)} and "
                         f"{list(features.shape)} (a head applied to more than 2 dimensions is not supported)")
    return cosine_and_scale(features, weight, eps, bias=bias, logits=logits)
