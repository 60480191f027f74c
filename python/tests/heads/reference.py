"""Independent float64 references of the heads, per sample with ``math`` and plain lists.

Written from the papers' formulas (SphereFace Eq. 6-7 and its reference annealing, CosFace
Eq. 4, ArcFace Eq. 3 with the insightface fallback, AM-LFS Eq. 15-16); no code of
``amlfs.heads``.
"""
from __future__ import annotations

import math
from typing import Callable, List, Sequence


def norm(v: Sequence[float]) -> float:
    return math.sqrt(sum(a * a for a in v))


def dot(u: Sequence[float], v: Sequence[float]) -> float:
    return sum(a * b for a, b in zip(u, v))


def cosine(u: Sequence[float], v: Sequence[float]) -> float:
    return dot(u, v) / (norm(u) * norm(v))


def log_softmax_at(logits: Sequence[float], index: int) -> float:
    top = max(logits)
    return logits[index] - top - math.log(sum(math.exp(f - top) for f in logits))


def psi(theta: float, m: int) -> float:
    """SphereFace's ``(-1)^k cos(m theta) - 2k`` on ``[k pi / m, (k + 1) pi / m]``."""
    k = min(int(math.floor(theta * m / math.pi)), m - 1)
    return (-1) ** k * math.cos(m * theta) - 2 * k


def arcface_target(c: float, margin_rad: float, easy_margin: bool) -> float:
    theta = math.acos(max(-1.0, min(1.0, c)))
    if easy_margin:
        return math.cos(theta + margin_rad) if c > 0 else c
    if theta + margin_rad <= math.pi:
        return math.cos(theta + margin_rad)
    return c - margin_rad * math.sin(margin_rad)


def piecewise(x: float, slopes: Sequence[float], biases: Sequence[float], lo: float, hi: float) -> float:
    m = len(slopes)
    i = min(max(math.floor((x - lo) / (hi - lo) * m), 0), m - 1)
    return slopes[i] * x + biases[i]


def sample_logits(name: str, x: List[float], w: List[List[float]], y: int, opts: dict) -> List[float]:
    """The training logits of one sample (for ``searched``: ``s cos`` with ``s t(cos_y)`` on the target)."""
    if name == "softmax":
        return [dot(x, wj) for wj in w]
    cos = [cosine(x, wj) for wj in w]
    if name == "sphereface":
        lam, m, xn = opts["lambda"], opts["m"], norm(x)
        out = [xn * c for c in cos]
        out[y] = xn * (lam * cos[y] + psi(math.acos(cos[y]), m)) / (1 + lam)
        return out
    s = opts["scale"]
    out = [s * c for c in cos]
    if name == "cosface":
        out[y] = s * (cos[y] - opts["margin"])
    elif name == "arcface":
        out[y] = s * arcface_target(cos[y], opts["margin"], opts.get("easy", False))
    elif name == "searched":
        m = len(opts["theta"]) // 4
        a_t, b_t = opts["theta"][:m], opts["theta"][m:2 * m]
        out[y] = s * piecewise(cos[y], a_t, b_t, -1.0, 1.0)
    return out


def sample_loss(name: str, x: List[float], w: List[List[float]], y: int, opts: dict) -> float:
    log_p = log_softmax_at(sample_logits(name, x, w, y, opts), y)
    if name != "searched":
        return -log_p
    m = len(opts["theta"]) // 4
    a_tau, b_tau = opts["theta"][2 * m:3 * m], opts["theta"][3 * m:]
    tau = piecewise(math.exp(log_p), a_tau, b_tau, 0.0, 1.0)
    assert tau > 1e-6, "choose a theta whose tau is positive (the reference has no floor)"
    return -math.log(tau)


def mean_loss(name: str, xs, w, ys, opts: dict, per_sample: Callable = sample_loss) -> float:
    return sum(per_sample(name, x, w, y, opts) for x, y in zip(xs, ys)) / len(xs)
