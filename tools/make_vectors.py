#!/usr/bin/env python3
"""Write the golden vectors in ``proto/vectors/`` from an independent float64 reference.

This script is the reference, not a copy of the implementations: plain Python, the
``math`` module and loops, no torch and no code from ``src/`` or ``python/amlfs/``. It
follows ``docs/algorithm.md``; the formats are in ``proto/vectors/README.md``.

    python tools/make_vectors.py           # rewrite the files
    python tools/make_vectors.py --check   # exit 1 when a committed file differs
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

VECTORS = Path(__file__).resolve().parent.parent / "proto" / "vectors"
TAU_FLOOR = 1e-6
MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF


# ---------------------------------------------------------------- search space


def identity(m):
    return [1.0] * m + [0.0] * m + [1.0] * m + [0.0] * m


def cosine_margin(m, margin):
    return [1.0] * m + [-margin] * m + [1.0] * m + [0.0] * m


def split(theta, m):
    return theta[:m], theta[m : 2 * m], theta[2 * m : 3 * m], theta[3 * m :]


def interval_t(x, m):
    return min(max(math.floor(((x + 1.0) / 2.0) * m), 0), m - 1)


def interval_tau(p, m):
    return min(max(math.floor(p * m), 0), m - 1)


def eval_t(theta, m, x):
    a, b, _, _ = split(theta, m)
    i = interval_t(x, m)
    return i, a[i] * x + b[i]


def eval_tau(theta, m, p):
    _, _, a, b = split(theta, m)
    i = interval_tau(p, m)
    return i, a[i] * p + b[i]


def log_tau_power(theta, m, log_p):
    """(interval, log tau, False, c) of a power tau: log tau continuous and linear in log p on each
    interval with slope a_tau[i], log tau(1) = 0; integrated from p = 1 down to p in plain loops."""
    _, _, a_tau, _ = split(theta, m)
    i = interval_tau(math.exp(log_p), m)
    value = 0.0
    for j in range(m - 1, i, -1):  # whole intervals above p: [j/m, (j+1)/m]
        value -= a_tau[j] * (math.log((j + 1) / m) - math.log(j / m))
    value -= a_tau[i] * (math.log((i + 1) / m) - log_p)
    return i, value, False, a_tau[i]


def log_tau_effective(theta, m, log_p):
    """(interval, log tau_eff, floored, c) under the validity policy."""
    _, _, a_tau, b_tau = split(theta, m)
    p = math.exp(log_p)
    i = interval_tau(p, m)
    a, b = a_tau[i], b_tau[i]
    if a > 0.0 and b >= 0.0:
        first = math.log(a) + log_p
        if b == 0.0:
            value = first
        else:
            second = math.log(b)
            hi, lo = max(first, second), min(first, second)
            value = hi + math.log1p(math.exp(lo - hi))
        return i, value, False, math.exp(math.log(a) + log_p - value)
    tau = a * p + b
    if tau < TAU_FLOOR:
        return i, math.log(TAU_FLOOR), True, 0.0
    return i, math.log(tau), False, a * p / tau


def validity(theta, m):
    a_t, _, a_tau, b_tau = split(theta, m)
    tau_min = math.inf
    floored = 0.0
    for i in range(m):
        lo, hi = i / m, (i + 1) / m
        a, b = a_tau[i], b_tau[i]
        tau_min = min(tau_min, a * lo + b, a * hi + b)
        if a > 0.0 and b >= 0.0:
            continue
        # measure of {p in [lo, hi): a p + b < TAU_FLOOR}
        if a == 0.0:
            floored += (hi - lo) if b < TAU_FLOOR else 0.0
            continue
        root = (TAU_FLOOR - b) / a
        if a > 0.0:  # floored below the root
            floored += min(max(root, lo), hi) - lo
        else:  # floored above the root
            floored += hi - min(max(root, lo), hi)
    return {
        "tauMin": tau_min,
        "tauFlooredFraction": floored,
        "negativeSlopesT": sum(1 for v in a_t if v < 0.0),
        "negativeSlopesTau": sum(1 for v in a_tau if v < 0.0),
    }


# ---------------------------------------------------------------- the loss


def broadcast(scale, n, c):
    """scale (number or nested list [N|1][C|1]) -> function (r, j) -> value."""
    if isinstance(scale, (int, float)):
        return lambda r, j: float(scale)
    rows, cols = len(scale), len(scale[0])
    return lambda r, j: scale[r if rows > 1 else 0][j if cols > 1 else 0]


def loss_case(theta, m, cosine, target, scale, tau_form="linear"):
    """Per-sample loss, log tau, floored, d sum(loss)/d cosine and /d scale.

    ``gradScale`` is the paper's gradient of a tensor scale (through ``s_y t(cos_y)``,
    the loss option ``t_scale_grad = "full"``); ``gradScalePlain`` that of ``"plain"``,
    where the target's scale gets the gradient of the untransformed ``s_y cos_y``.
    """
    n, c = len(cosine), len(cosine[0])
    s = broadcast(scale, n, c)
    a_t, _, _, _ = split(theta, m)
    out = {"loss": [], "logTau": [], "floored": [], "gradCosine": []}
    grad_scale_full, grad_scale_plain = [], []
    for r in range(n):
        y = target[r]
        logits = [s(r, j) * cosine[r][j] for j in range(c)]
        i_t, t_y = eval_t(theta, m, cosine[r][y])
        logits[y] = s(r, y) * t_y
        top = max(logits)
        lse = top + math.log(sum(math.exp(v - top) for v in logits))
        others = [math.exp(v - lse) for j, v in enumerate(logits) if j != y]  # q_j, j != y
        if logits[y] >= top:  # p near 1: log p = -log1p(sum_j exp(f_j - f'_y)) keeps full accuracy
            log_p = -math.log1p(sum(math.exp(v - logits[y]) for j, v in enumerate(logits) if j != y))
        else:
            log_p = logits[y] - lse
        log_tau = log_tau_power if tau_form == "power" else log_tau_effective
        _, value, floored, coef = log_tau(theta, m, log_p)
        out["loss"].append(-value)
        out["logTau"].append(value)
        out["floored"].append(floored)
        # dL/df'_j = coef * (q_j - [j == y]), with q_y - 1 = -(sum of the other q_j)
        g_logit = [coef * (-math.fsum(others) if j == y else math.exp(v - lse)) for j, v in enumerate(logits)]
        g_cos, g_s, g_plain = [], [], []
        for j in range(c):
            if j == y:
                g_cos.append(g_logit[j] * s(r, j) * a_t[i_t])
                g_s.append(g_logit[j] * t_y)
            else:
                g_cos.append(g_logit[j] * s(r, j))
                g_s.append(g_logit[j] * cosine[r][j])
            g_plain.append(g_logit[j] * cosine[r][j])
        out["gradCosine"].append(g_cos)
        grad_scale_full.append(g_s)
        grad_scale_plain.append(g_plain)
    if not isinstance(scale, (int, float)):
        rows, cols = len(scale), len(scale[0])
        for key, full in (("gradScale", grad_scale_full), ("gradScalePlain", grad_scale_plain)):
            reduced = [[0.0] * cols for _ in range(rows)]
            for r in range(n):
                for j in range(c):
                    reduced[r if rows > 1 else 0][j if cols > 1 else 0] += full[r][j]
            out[key] = reduced
    return out


# ---------------------------------------------------------------- randomness


class Xoshiro128ss:
    """xoshiro128** (Blackman and Vigna, 2018) seeded by SplitMix64 from (seed, stream)."""

    def __init__(self, seed, stream):
        x = ((seed << 32) | stream) & MASK64
        words = []
        for _ in range(2):
            x = (x + 0x9E3779B97F4A7C15) & MASK64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            z ^= z >> 31
            words += [z & MASK32, z >> 32]
        self.s = words

    @staticmethod
    def _rotl(v, k):
        return ((v << k) | (v >> (32 - k))) & MASK32

    def next_uint32(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK32, 7) * 9) & MASK32
        t = (s[1] << 9) & MASK32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 11)
        return result

    def uniform(self):
        hi = self.next_uint32() >> 5
        lo = self.next_uint32() >> 6
        return (hi * 67108864 + lo) / 9007199254740992

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def sample_thetas(seed, epoch, mu, sigma, b):
    rng = Xoshiro128ss(seed, epoch)
    return [[mu_d + sigma * rng.normal() for mu_d in mu] for _ in range(b)]


# ---------------------------------------------------------------- policy


def finite(v):
    return isinstance(v, (int, float)) and math.isfinite(v)


def normalize_rewards(rewards):
    done = [k for k, r in enumerate(rewards) if finite(r)]
    n = len(done)
    normalized = [None] * len(rewards)
    best = None
    for k in done:
        if best is None or rewards[k] > rewards[best]:
            best = k
    if n == 0:
        return normalized, 0, False, None
    mean = sum(rewards[k] for k in done) / n
    std = math.sqrt(sum((rewards[k] - mean) ** 2 for k in done) / n)
    flat = n <= 1 or std <= 1e-12 * max(1.0, abs(mean))
    for k in done:
        normalized[k] = 0.0 if flat else (rewards[k] - mean) / std
    return normalized, n, not flat, best


def policy_update(mu, sigma, lr, thetas, rewards, adam):
    normalized, n, informative, _ = normalize_rewards(rewards)
    dim = len(mu)
    direction = [0.0] * dim
    for k, rn in enumerate(normalized):
        if rn is None:
            continue
        for d in range(dim):
            direction[d] += rn * (thetas[k][d] - mu[d]) / (sigma * sigma)
    if n:
        direction = [g / n for g in direction]
    if not informative:
        return direction, False, list(mu), adam
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = adam["step"] + 1
    m = [b1 * m0 + (1 - b1) * g for m0, g in zip(adam["m"], direction)]
    v = [b2 * v0 + (1 - b2) * g * g for v0, g in zip(adam["v"], direction)]
    new_mu = [
        mu_d + lr * (m_d / (1 - b1**step)) / (math.sqrt(v_d / (1 - b2**step)) + eps)
        for mu_d, m_d, v_d in zip(mu, m, v)
    ]
    return direction, True, new_mu, {"step": step, "m": m, "v": v}


# ---------------------------------------------------------------- the cases


class Lcg:
    """A tiny deterministic generator for *inputs* (kept apart from the RNG under test)."""

    def __init__(self, seed):
        self.x = seed

    def uniform(self, lo=0.0, hi=1.0):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & MASK64
        return lo + (hi - lo) * ((self.x >> 11) / 9007199254740992)

    def normal(self):
        return math.sqrt(-2.0 * math.log(1.0 - self.uniform())) * math.cos(2 * math.pi * self.uniform())


def rounded(v, digits=6):
    return float(f"{v:.{digits}g}")


def piecewise_cases():
    m = 6
    gen = Lcg(1)
    rand_theta = [rounded(v + 0.5 * gen.normal()) for v in identity(m)]
    mixed = list(identity(m))
    mixed[3 * m + 0] = -0.05  # b_tau[0] < 0: floored near p = 0
    mixed[2 * m + 5] = -0.5  # a_tau[5] < 0: decreasing, still positive
    mixed[3 * m + 5] = 1.2
    mixed[2 * m + 2] = 0.0  # a_tau[2] = 0: constant piece b_tau[2]
    mixed[3 * m + 2] = 0.3
    cases = []
    thetas = {"identity": identity(m), "cosface": cosine_margin(m, 0.35), "random": rand_theta, "mixed": mixed}
    t_points = [-1.0, -2.0 / 3.0, -1.0 / 3.0, 0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0, -1.5, 1.0000001, 0.123, -0.999]
    tau_points = [0.0, 1.0 / 6.0, 2.0 / 6.0, 0.5, 4.0 / 6.0, 5.0 / 6.0, 1.0, 0.05, -0.2, 1.3]
    log_points = [0.0, -1e-12, math.log(0.5), math.log(0.9), math.log(0.01), math.log(1e-5), -69.1, -700.0, -1000.0]
    for tname, theta in thetas.items():
        for x in t_points:
            i, v = eval_t(theta, m, x)
            cases.append({"name": f"t/{tname}/{x!r}", "valid": True, "M": m, "theta": theta, "fn": "t", "x": x, "interval": i, "value": v})
        for x in tau_points:
            i, v = eval_tau(theta, m, x)
            cases.append({"name": f"tau/{tname}/{x!r}", "valid": True, "M": m, "theta": theta, "fn": "tau", "x": x, "interval": i, "value": v})
        for x in log_points:
            i, v, fl, c = log_tau_effective(theta, m, x)
            cases.append({"name": f"logTau/{tname}/{x!r}", "valid": True, "M": m, "theta": theta, "fn": "logTau", "x": x, "interval": i, "value": v, "floored": fl, "c": c})
    m3 = 3
    theta3 = [0.5, 1.0, 2.0, 0.1, 0.0, -0.1, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    for x in [-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0, 0.999999]:
        i, v = eval_t(theta3, m3, x)
        cases.append({"name": f"t/M3/{x!r}", "valid": True, "M": m3, "theta": theta3, "fn": "t", "x": x, "interval": i, "value": v})
    cases += [
        {"name": "invalid/theta-length", "valid": False, "M": m, "theta": identity(m)[:-1], "fn": "t", "x": 0.0, "error": {"field": "theta"}},
        {"name": "invalid/theta-nan", "valid": False, "M": m, "theta": identity(m)[:5] + ["NaN"] + identity(m)[6:], "fn": "tau", "x": 0.5, "error": {"field": "theta"}},
        {"name": "invalid/x-nan", "valid": False, "M": m, "theta": identity(m), "fn": "t", "x": "NaN", "error": {"field": "x"}},
        {"name": "invalid/x-inf", "valid": False, "M": m, "theta": identity(m), "fn": "logTau", "x": "-Infinity", "error": {"field": "x"}},
    ]
    return {"description": "t, tau and the effective log tau (validity policy) at edges, inside and outside the domain", "cases": cases}


def loss_cases():
    m = 6
    gen = Lcg(7)
    cases = []

    def add(name, theta, cosine, target, scale, tau_form="linear"):
        case = {"name": name, "valid": True, "M": m, "theta": theta, "cosine": cosine, "target": target, "scale": scale}
        case.update(loss_case(theta, m, cosine, target, scale, tau_form))
        if tau_form == "linear":
            case["validity"] = validity(theta, m)
        else:
            case["tauForm"] = tau_form
        cases.append(case)

    def rand_cos(n, c):
        return [[rounded(gen.uniform(-0.95, 0.95)) for _ in range(c)] for _ in range(n)]

    cos = rand_cos(4, 5)
    tgt = [0, 3, 4, 1]
    add("identity/s16", identity(m), cos, tgt, 16.0)
    add("cosface/s30-m0.35", cosine_margin(m, 0.35), cos, tgt, 30.0)
    tiny = [[-1.0, 1.0, 1.0, 1.0], [-0.9, 0.95, 0.2, -0.3]]
    add("identity/tiny-probability", identity(m), tiny, [0, 0], 64.0)
    add("identity/vanishing-probability", identity(m), [[-1.0, 1.0, 1.0]], [0], 500.0)
    for k in range(3):
        theta = [rounded(v + 0.5 * gen.normal()) for v in identity(m)]
        add(f"random/{k}", theta, rand_cos(3, 6), [5, 0, 2], 10.0)
    floored = list(identity(m))
    floored[3 * m] = -0.3  # b_tau[0] < 0: tau < 0 for small p
    floored[2 * m + 1] = -0.4  # decreasing piece on [1/6, 2/6)
    floored[3 * m + 1] = 0.5
    add("floored/b-tau-negative", floored, [[0.1, 0.9, 0.2, 0.3], [0.9, -0.5, 0.1, 0.0], [0.3, 0.31, 0.29, 0.0]], [0, 0, 1], 8.0)
    neg_t = list(identity(m))
    neg_t[1] = -0.7  # decreasing t on [-2/3, -1/3)
    neg_t[m + 1] = -0.2
    add("negative-slope-t", neg_t, [[-0.5, 0.2, 0.1], [0.4, -0.45, 0.0]], [0, 1], 12.0)
    sc_rows = [[rounded(gen.uniform(2.0, 9.0))] for _ in range(3)]
    add("scale/per-row", identity(m), rand_cos(3, 4), [1, 2, 3], sc_rows)
    sc_full = [[rounded(gen.uniform(1.0, 6.0)) for _ in range(4)] for _ in range(3)]
    add("scale/full-random-theta", [rounded(v + 0.3 * gen.normal()) for v in identity(m)], rand_cos(3, 4), [3, 0, 1], sc_full)
    sc_cols = [[rounded(gen.uniform(1.0, 6.0)) for _ in range(5)]]
    add("scale/per-class", cosine_margin(m, 0.2), rand_cos(2, 5), [4, 2], sc_cols)
    # tau_form "power": the identity is cross-entropy, any slopes give c = a_tau[i], nothing floors
    add("power/identity", identity(m), cos, tgt, 16.0, "power")
    add("power/vanishing-probability", identity(m), [[-1.0, 1.0, 1.0]], [0], 500.0, "power")
    power = [rounded(v + 0.4 * gen.normal()) for v in identity(m)]
    add("power/random", power, rand_cos(4, 6), [5, 0, 2, 3], 10.0, "power")
    add("power/scale-full", power, rand_cos(3, 4), [3, 0, 1], sc_full, "power")
    good = {"M": m, "theta": identity(m), "cosine": [[0.1, 0.2], [0.3, 0.4]], "target": [0, 1], "scale": 4.0}
    cases += [
        dict(good, name="invalid/theta-length", valid=False, theta=identity(m)[:-2], error={"field": "theta"}),
        dict(good, name="invalid/target-range", valid=False, target=[0, 2], error={"field": "target"}),
        dict(good, name="invalid/target-length", valid=False, target=[0], error={"field": "target"}),
        dict(good, name="invalid/cosine-1d", valid=False, cosine=[0.1, 0.2], error={"field": "cosine"}),
    ]
    return {"description": "searched softmax loss: per-sample values and gradients (float64 reference)", "tauFloor": TAU_FLOOR, "cases": cases}


def rng_cases():
    cases = []
    for seed, stream in [(0, 0), (1, 0), (0, 1), (42, 7), (4294967295, 4294967295), (123456789, 3)]:
        g1, g2, g3 = (Xoshiro128ss(seed, stream) for _ in range(3))
        cases.append({
            "name": f"seed{seed}/stream{stream}", "valid": True, "seed": seed, "stream": stream,
            "uint32": [g1.next_uint32() for _ in range(16)],
            "uniform": [g2.uniform() for _ in range(8)],
            "normal": [g3.normal() for _ in range(8)],
        })
    cases += [
        {"name": "invalid/seed-negative", "valid": False, "seed": -1, "stream": 0, "error": {"field": "seed"}},
        {"name": "invalid/seed-fraction", "valid": False, "seed": 1.5, "stream": 0, "error": {"field": "seed"}},
        {"name": "invalid/stream-too-big", "valid": False, "seed": 0, "stream": 4294967296, "error": {"field": "stream"}},
    ]
    return {"description": "xoshiro128** seeded by SplitMix64: raw outputs, uniforms, Box-Muller normals", "cases": cases}


def sample_cases():
    m = 6
    cases = []
    for seed, epoch, sigma, b, mu in [
        (0, 0, 0.2, 4, identity(m)),
        (7, 3, 0.2, 3, cosine_margin(m, 0.4)),
        (2019, 12, 0.5, 2, [rounded(0.1 * k - 1.0) for k in range(4 * m)]),
    ]:
        cases.append({"name": f"seed{seed}/epoch{epoch}", "valid": True, "seed": seed, "epoch": epoch, "mu": mu,
                      "sigmaStd": sigma, "B": b, "thetas": sample_thetas(seed, epoch, mu, sigma, b)})
    base = {"seed": 0, "epoch": 0, "mu": identity(m), "sigmaStd": 0.2, "B": 2}
    cases += [
        dict(base, name="invalid/B-zero", valid=False, B=0, error={"field": "B"}),
        dict(base, name="invalid/sigma-zero", valid=False, sigmaStd=0.0, error={"field": "sigmaStd"}),
        dict(base, name="invalid/sigma-negative", valid=False, sigmaStd=-0.1, error={"field": "sigmaStd"}),
        dict(base, name="invalid/mu-nan", valid=False, mu=["NaN"] + identity(m)[1:], error={"field": "mu"}),
    ]
    return {"description": "B thetas sampled around mu for (seed, epoch)", "cases": cases}


def rewards_cases():
    cases = []
    for name, rewards in [
        ("distinct", [0.61, 0.72, 0.55, 0.70]),
        ("with-failures", [0.5, None, 0.8, "NaN", 0.65]),
        ("ties-best-lowest-index", [0.3, 0.9, 0.9, 0.1]),
        ("one-finished", [None, 0.42, None]),
        ("none-finished", [None, "NaN"]),
        ("all-equal", [0.25, 0.25, 0.25]),
        ("nearly-equal", [1000.0, 1000.0 + 1e-10, 1000.0]),
        ("infinite-is-failed", ["Infinity", 0.2, 0.4]),
        ("negative", [-3.0, -1.0, -2.0]),
    ]:
        normalized, n, informative, best = normalize_rewards(rewards)
        cases.append({"name": name, "valid": True, "rewards": rewards, "normalized": normalized,
                      "finished": n, "informative": informative, "best": best})
    return {"description": "reward normalization over the samples that finished, and the best index", "cases": cases}


def update_cases():
    m = 3
    cases = []
    mu = identity(m)
    thetas = sample_thetas(5, 0, mu, 0.2, 4)
    adam0 = {"step": 0, "m": [0.0] * (4 * m), "v": [0.0] * (4 * m)}
    scenarios = [
        ("first-step", mu, thetas, [0.6, 0.7, 0.5, 0.65], adam0),
        ("with-failure", mu, thetas, [0.6, None, 0.5, 0.65], adam0),
        ("skipped-equal-rewards", mu, thetas, [0.5, 0.5, 0.5, 0.5], adam0),
    ]
    direction, _, mu1, adam1 = policy_update(mu, 0.2, 0.05, thetas, [0.6, 0.7, 0.5, 0.65], adam0)
    thetas2 = sample_thetas(5, 1, mu1, 0.2, 4)
    scenarios += [
        ("second-step", mu1, thetas2, [0.2, 0.1, 0.4, 0.3], adam1),
        ("skipped-keeps-momentum", mu1, thetas2, [None, 0.3, None, None], adam1),
    ]
    for name, mu_in, th, rewards, adam in scenarios:
        d, applied, new_mu, new_adam = policy_update(mu_in, 0.2, 0.05, th, rewards, adam)
        cases.append({"name": name, "valid": True, "mu": mu_in, "sigmaStd": 0.2, "lr": 0.05, "thetas": th,
                      "rewards": rewards, "adam": adam, "direction": d, "applied": applied,
                      "muAfter": new_mu, "adamAfter": new_adam})
    base = {"mu": mu, "sigmaStd": 0.2, "lr": 0.05, "thetas": thetas, "rewards": [0.6, 0.7, 0.5, 0.65], "adam": adam0}
    cases += [
        dict(base, name="invalid/theta-length", valid=False, thetas=[t[:-1] for t in thetas], error={"field": "thetas"}),
        dict(base, name="invalid/lr-zero", valid=False, lr=0.0, error={"field": "lr"}),
        dict(base, name="invalid/rewards-length", valid=False, rewards=[0.6, 0.7], error={"field": "rewards"}),
    ]
    return {"description": "REINFORCE direction and one Adam ascent step", "cases": cases}


def wire_cases():
    sha = "ab" * 32
    head = {"protocol": 1, "msgId": "m1", "runId": "run-1"}

    def msg(type_, sender="w0", **fields):
        return dict(head, type=type_, sender=sender, **fields)

    valid = {
        "hello": msg("hello", pid=4242, host="node-1", device="cpu", threads=1,
                     versions={"python": "3.11.7", "torch": "2.13.0", "amlfs": "0.1.0", "pyzmq": "27.3.0"},
                     adapter="small-cnn", datasetSizes={"train": 1437, "val": 180, "test": 180}),
        "welcome": msg("welcome", "controller", replyTo="m0", heartbeatIntervalMs=1000, heartbeatTimeoutMs=10000,
                       experiment={"name": "demo", "seed": 0}),
        "heartbeat": msg("heartbeat"),
        "initRequest": msg("initRequest", "controller", seed=7),
        "task": msg("task", "controller", taskId="e0003-s01-a0", kind="train", epoch=3, sample=1,
                    theta=identity(2), M=2, tScaleGrad="plain", tauForm="linear", start=sha, seed=99, split="val"),
        "progress": msg("progress", taskId="e0003-s01-a0", step=10, steps=45, loss=0.731, samplesPerSec=812.5),
        "result": msg("result", taskId="e0003-s01-a0", ok=True, reward=0.912, trainLoss=0.42,
                      metrics={"top1": 0.912}, timingsMs={"train": 5120.0, "eval": 310.5},
                      lossStats={"examples": 1437, "flooredShare": 0.0, "deadShare": 0.021, "meanC": 0.93,
                                 "tDeadShare": 0.0, "meanTSlope": 1.04}),
        "result/failed": msg("result", taskId="e0003-s02-a1", ok=False, reward=None, trainLoss=None, metrics={},
                             timingsMs={}, reason="loss is NaN at step 17"),
        "keep": msg("keep", "controller", taskId="e0003-s01-a0", keep=True),
        "checkpointRequest/by-sha": msg("checkpointRequest", sha256=sha),
        "checkpointRequest/by-task": msg("checkpointRequest", "controller", taskId="e0003-s01-a0"),
        "checkpoint": msg("checkpoint", sha256=sha, sizeBytes=10485760, chunkBytes=4194304, transferId="w0-t3",
                          taskId="e0003-s01-a0"),
        "checkpoint/from-controller": msg("checkpoint", "controller", replyTo="w0-9", sha256=sha, sizeBytes=1000,
                                          chunkBytes=1000, transferId="controller-t1"),
        "checkpointChunk": msg("checkpointChunk", transferId="w0-t3", index=2, offset=8388608),
        "credit": msg("credit", "controller", transferId="w0-t3", chunks=4),
        "checkpointAbort": msg("checkpointAbort", "controller", transferId="w0-t3",
                               reason="sha256: announced abab..., the 3 chunks hash to 0f1e..."),
        "reject": msg("reject", "controller", reason="header is not valid JSON", rejectedMsgId=None),
        "shutdown": msg("shutdown", "controller", reason="run finished"),
        "fatal": msg("fatal", "w1", kind="config",
                     reason="market1501: missing folder data/Market-1501-v15.09.15/bounding_box_train"),
    }
    cases = [{"name": name, "valid": True, "header": header} for name, header in valid.items()]

    def bad(name, header, field):
        cases.append({"name": name, "valid": False, "header": header, "error": {"field": field}})

    def without(header, key):
        return {k: v for k, v in header.items() if k != key}

    bad("wrong-protocol-version", dict(valid["heartbeat"], protocol=2), "protocol")
    bad("unknown-type", dict(valid["heartbeat"], type="gossip"), "type")
    bad("missing-msgId", without(valid["heartbeat"], "msgId"), "msgId")
    bad("missing-runId", without(valid["task"], "runId"), "runId")
    bad("unknown-field", dict(valid["heartbeat"], extra=1), "extra")
    bad("task/theta-not-numbers", dict(valid["task"], theta=["a"] * 8), "theta")
    bad("task/bad-sha", dict(valid["task"], start="xyz"), "start")
    bad("task/negative-epoch", dict(valid["task"], epoch=-1), "epoch")
    bad("task/unknown-kind", dict(valid["task"], kind="dance"), "kind")
    bad("task/unknown-tScaleGrad", dict(valid["task"], tScaleGrad="sometimes"), "tScaleGrad")
    bad("task/unknown-tauForm", dict(valid["task"], tauForm="cubic"), "tauForm")
    bad("result/lossStats-share-over-1", dict(valid["result"], lossStats=dict(valid["result"]["lossStats"], deadShare=1.5)),
        "lossStats")
    bad("hello/missing-versions", without(valid["hello"], "versions"), "versions")
    bad("progress/step-fraction", dict(valid["progress"], step=1.5), "step")
    bad("result/reward-string", dict(valid["result"], reward="0.9"), "reward")
    bad("checkpoint/size-negative", dict(valid["checkpoint"], sizeBytes=-5), "sizeBytes")
    bad("checkpoint/size-zero", dict(valid["checkpoint"], sizeBytes=0), "sizeBytes")
    bad("checkpoint/chunk-over-64MiB", dict(valid["checkpoint"], chunkBytes=64 * 1024 * 1024 + 1), "chunkBytes")
    bad("checkpoint/missing-transferId", without(valid["checkpoint"], "transferId"), "transferId")
    bad("checkpointChunk/negative-index", dict(valid["checkpointChunk"], index=-1), "index")
    bad("checkpointChunk/missing-offset", without(valid["checkpointChunk"], "offset"), "offset")
    bad("credit/zero-chunks", dict(valid["credit"], chunks=0), "chunks")
    bad("credit/over-1024-chunks", dict(valid["credit"], chunks=1025), "chunks")
    bad("checkpointAbort/missing-reason", without(valid["checkpointAbort"], "reason"), "reason")
    bad("fatal/unknown-kind", dict(valid["fatal"], kind="bug"), "kind")
    bad("fatal/empty-reason", dict(valid["fatal"], reason=""), "reason")
    bad("fatal/reason-over-4096", dict(valid["fatal"], reason="x" * 4097), "reason")
    bad("fatal/missing-kind", without(valid["fatal"], "kind"), "kind")
    bad("sender/bad-characters", dict(valid["heartbeat"], sender="w 0;rm"), "sender")
    bad("not-an-object", ["heartbeat"], "header")
    cases.append({"name": "not-json", "valid": False, "raw": "{\"protocol\": 1, \"type\": ", "error": {"field": "header"}})
    cases.append({"name": "not-utf8-json-text", "valid": False, "raw": "heartbeat please", "error": {"field": "header"}})
    return {"description": "wire message headers: one valid case per type, and invalid ones (docs/protocol.md)", "cases": cases}


# ---------------------------------------------------------------- output


# ---------------------------------------------------------------- baseline options


# What each option kind of proto/catalog.json accepts, written out by hand from the phrases the
# kinds promise ("a positive integer", "an increasing list of numbers in (0, 1)", ...): values a
# JSON config can hold, each with the verdict both checkers (Python, TypeScript) must give.
OPTION_KIND_CASES = {
    "positiveInt": ([1, 7, 4096], [0, -3, 1.5, "4", True, None, [2]]),
    "nonNegativeInt": ([0, 1, 12], [-1, 0.5, "0", False, None]),
    "positiveIntOrNull": ([None, 1, 288], [0, -2, 2.5, "288", True]),
    "positiveNumber": ([0.001, 1, 30.5], [0, -0.1, "1", True, None, {}]),
    "nonNegativeNumber": ([0, 5e-4, 2], [-1e-9, "0", False, None]),
    "fraction": ([0, 0.5, 0.999], [1, -0.01, 1.5, "0.5", True, None]),
    "boolean": ([True, False], [0, 1, "true", None]),
    "fractionsList": ([[], [0.5, 0.75], [0.25, 0.25]], [[0.75, 0.5], [0, 0.5], [0.5, 1], [0.5, "0.75"], 0.5, None]),
    "intList": ([[], [0, 16000, 24000], [3, 3]], [[24000, 16000], [-1], [1.5], [True], "1,2", None]),
    "epochList": ([[], [40, 70], [1]], [[70, 40], [0, 40], [40.5], [False], 40, None]),
    "pathOrNull": ([None, "/models/resnet50.pth", "pairs.txt"], ["", 0, False, ["a"]]),
    "object": ([{}, {"margin": 0.35}], [[], None, "{}", 1, True]),
}
ONE_OF_CASES = [
    (["cosine", "step", "none"], ["cosine", "none"], ["Cosine", "linear", "", None, True, 1]),
    ([1, 2], [1, 2], [3, 0, "1", True, None]),
]


def option_cases():
    cases = []
    for kind, (valid, invalid) in OPTION_KIND_CASES.items():
        for verdict, values in ((True, valid), (False, invalid)):
            for value in values:
                cases.append({"name": f"{kind} {json.dumps(value)}", "valid": verdict, "kind": kind, "value": value})
    for choices, valid, invalid in ONE_OF_CASES:
        for verdict, values in ((True, valid), (False, invalid)):
            for value in values:
                cases.append({"name": f"oneOf {json.dumps(choices)} {json.dumps(value)}", "valid": verdict,
                              "kind": "oneOf", "choices": choices, "value": value})
    return {"description": "Values of each baseline option kind of proto/catalog.json, valid and invalid, for "
                           "the Python and TypeScript option checks", "cases": cases}


def encode(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


FILES = {
    "space/piecewise.json": piecewise_cases,
    "loss/searched_softmax.json": loss_cases,
    "policy/rng.json": rng_cases,
    "policy/sample.json": sample_cases,
    "policy/rewards.json": rewards_cases,
    "policy/update.json": update_cases,
    "wire/messages.json": wire_cases,
    "options/kinds.json": option_cases,
}


def render(make):
    return json.dumps(encode(make()), indent=1, allow_nan=False) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a committed file differs")
    args = parser.parse_args(argv)
    stale = []
    for rel, make in FILES.items():
        path = VECTORS / rel
        text = render(make)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print(f"proto/vectors is out of date ({', '.join(stale)}): run `python tools/make_vectors.py`", file=sys.stderr)
        return 1
    print(f"proto/vectors: {len(FILES)} files {'up to date' if args.check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
