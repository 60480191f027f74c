"""An independent float64 reference of the searched loss: plain loops and ``math``.

Written from ``docs/algorithm.md`` alone (no torch, no code of ``amlfs``). Per sample:
``f_j = s_j cos_j``, ``f'_y = s_y t(cos_y)``, ``log p = f'_y - logsumexp(f')``,
``L = -log tau_eff(p)``, and the gradients of the docs' hand-written backward.
"""
from __future__ import annotations

import math

TAU_FLOOR = 1e-6


def interval(x: float, lo: float, hi: float, m: int) -> int:
    return min(max(math.floor(((x - lo) / (hi - lo)) * m), 0), m - 1)


def split(theta, m):
    return theta[:m], theta[m : 2 * m], theta[2 * m : 3 * m], theta[3 * m :]


def log_tau_effective(theta, m, log_p):
    """``(value, floored, c)`` of the validity policy at ``log p``."""
    _, _, a_tau, b_tau = split(theta, m)
    p = math.exp(log_p)
    i = interval(p, 0.0, 1.0, m)
    a, b = a_tau[i], b_tau[i]
    if a > 0.0 and b >= 0.0:
        log_a_p = math.log(a) + log_p
        if b == 0.0:
            value = log_a_p
        else:
            top, low = max(log_a_p, math.log(b)), min(log_a_p, math.log(b))
            value = top + math.log1p(math.exp(low - top))
        return value, False, math.exp(log_a_p - value)
    tau = a * p + b
    if tau < TAU_FLOOR:
        return math.log(TAU_FLOOR), True, 0.0
    return math.log(tau), False, a * p / tau


def sample_loss(theta, m, cos_row, y, s_row, t_scale_grad="full"):
    """Loss of one sample and its gradients: ``(loss, floored, grad_cos[C], grad_s[C])``.

    ``s_row`` is the scale of each class for this sample (a list of length C). With
    ``t_scale_grad = "plain"`` the target's scale gets the gradient of ``s_y cos_y``.
    """
    a_t, b_t, _, _ = split(theta, m)
    c = len(cos_row)
    i_t = interval(cos_row[y], -1.0, 1.0, m)
    t_y = a_t[i_t] * cos_row[y] + b_t[i_t]
    logits = [s_row[j] * cos_row[j] for j in range(c)]
    logits[y] = s_row[y] * t_y
    top = max(logits)
    others = math.fsum(math.exp(logits[j] - top) for j in range(c) if j != y)
    e_y = math.exp(logits[y] - top)
    if logits[y] == top:
        log_p = -math.log1p(others)  # accurate for p near 1
    else:
        log_p = (logits[y] - top) - math.log(e_y + others)
    value, floored, coef = log_tau_effective(theta, m, log_p)
    total = e_y + others
    grad_cos, grad_s = [], []
    for j in range(c):
        if j == y:
            g = coef * (-others / total)  # c (q_y - 1)
            grad_cos.append(g * s_row[j] * a_t[i_t])
            grad_s.append(g * (t_y if t_scale_grad == "full" else cos_row[y]))
        else:
            g = coef * math.exp(logits[j] - top) / total  # c q_j
            grad_cos.append(g * s_row[j])
            grad_s.append(g * cos_row[j])
    return -value, floored, grad_cos, grad_s


def batch_loss(theta, m, cosine, target, scale_rows, t_scale_grad="full"):
    """Per-sample losses and ``d sum(loss) / d cosine``, ``d sum(loss) / d s`` (full ``[N][C]``).

    ``scale_rows[n][j]`` is the broadcast scale of sample ``n``, class ``j``.
    """
    losses, floored, grad_cos, grad_s = [], [], [], []
    for n, row in enumerate(cosine):
        loss, fl, gc, gs = sample_loss(theta, m, row, target[n], scale_rows[n], t_scale_grad)
        losses.append(loss)
        floored.append(fl)
        grad_cos.append(gc)
        grad_s.append(gs)
    return losses, floored, grad_cos, grad_s


def gradient_factors(theta, m, cos_row, y, s_row):
    """``(c, floored, a_t)`` of one sample: the factors of its gradient (``docs/algorithm.md``),
    ``c = a_tau p / tau(p)`` (0 where floored) and the slope of ``t`` at ``cos_y``."""
    a_t, b_t, _, _ = split(theta, m)
    i_t = interval(cos_row[y], -1.0, 1.0, m)
    logits = [s_row[j] * cos_row[j] for j in range(len(cos_row))]
    logits[y] = s_row[y] * (a_t[i_t] * cos_row[y] + b_t[i_t])
    top = max(logits)
    log_p = (logits[y] - top) - math.log(math.fsum(math.exp(v - top) for v in logits))
    _, floored, c = log_tau_effective(theta, m, log_p)
    return c, floored, a_t[i_t]
