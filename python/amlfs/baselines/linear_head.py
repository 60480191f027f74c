"""``cosine_and_scale`` of a plain linear classifier; it lives in :mod:`amlfs.loss.linear_head`."""
from ..loss.linear_head import cosine_and_scale

__all__ = ["cosine_and_scale"]
