"""Classification heads for face recognition: softmax, SphereFace (A-softmax), CosFace, ArcFace, and the
AM-LFS searched head, each a plain function and a small ``nn.Module`` owning ``weight [C, D]``.

``build_head(name, embedding_dim, num_classes, options)`` picks one by its config name.
"""
from .arcface import ArcFaceHead, arcface_logits, arcface_loss, arcface_target_cosine
from .base import Head
from .cosface import CosFaceHead, cosface_logits, cosface_loss
from .errors import HeadError
from .registry import HeadOption, HeadSpec, build_head, get_head, head_names, parse_head_options, register_head
from .searched import SearchedHead, searched_head_loss, searched_logits
from .softmax import SoftmaxHead, softmax_logits, softmax_loss
from .sphereface import (
    SphereFaceHead,
    chebyshev_cos_multiple,
    sphereface_lambda,
    sphereface_logits,
    sphereface_loss,
    sphereface_psi,
)

__all__ = [
    "ArcFaceHead",
    "CosFaceHead",
    "Head",
    "HeadError",
    "HeadOption",
    "HeadSpec",
    "SearchedHead",
    "SoftmaxHead",
    "SphereFaceHead",
    "arcface_logits",
    "arcface_loss",
    "arcface_target_cosine",
    "build_head",
    "chebyshev_cos_multiple",
    "cosface_logits",
    "cosface_loss",
    "get_head",
    "head_names",
    "parse_head_options",
    "register_head",
    "searched_head_loss",
    "searched_logits",
    "softmax_logits",
    "softmax_loss",
    "sphereface_lambda",
    "sphereface_logits",
    "sphereface_loss",
    "sphereface_psi",
]
