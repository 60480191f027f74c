#!/usr/bin/env python3
"""Forward + backward time of the searched softmax loss against the cross-entropy it replaces.

    python bench/loss_speed.py                  # all threads, the three default sizes
    python bench/loss_speed.py --threads 1 --repeats 200 --cosines trained
    python bench/loss_speed.py --stats          # the cost of counting LossStats, at 256x751 and 256x10575

Every repeat times each variant once, in a freshly shuffled order (the variants are
interleaved so that a noisy machine slows them all alike); the table gives medians in
milliseconds and ratios to ``F.cross_entropy(scale * cosine, target)``. ``paired`` is the
median over repeats of (variant / that baseline) within the same repeat.

Cosines: ``uniform`` draws every entry from U(-1, 1) (with s = 64 about a third of
``exp(s cos - max)`` fall below float32's normal range, which slows ``exp`` on x86 for any
softmax); ``trained`` mimics a trained face model: target U(0.2, 0.8), others N(0, 0.1).

Variants (float32, ``cosine`` a leaf that requires grad, fixed ``scale``):
  ce(s*cos)       F.cross_entropy(scale * cosine, target): the thing the loss replaces
  ce(logits)      F.cross_entropy on a leaf logits tensor (no scale multiply)
  searched/id     amlfs.searched_softmax_loss, identity theta
  searched/rand   amlfs.searched_softmax_loss, theta = identity + N(0, 0.5^2), seeded

With ``--stats``, the variants are instead a training call of ``amlfs.SearchedSoftmaxLoss``
(under ``torch.enable_grad``) with its ``LossStats`` counting the examples, against the same
module with ``stats = None``, which runs the identical code except the count (and, for
reference, the functional ``searched_softmax_loss``, which validates ``theta`` on every
call); ratios are to ``.../no-stats``. ``summary()``, read once per epoch, is not timed.
  module/stats/id, module/no-stats/id       identity theta
  module/stats/rand, module/no-stats/rand   theta = identity + N(0, 0.5^2) (floors some examples)
  functional/rand                           amlfs.searched_softmax_loss, same theta
  stats.add alone                           LossStats.add on the rand theta's N per-example terms:
                                            the count by itself (its ratio: to module/no-stats/rand)
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

import torch
import torch.nn.functional as F

import amlfs
from amlfs.loss import LossStats

DEFAULT_SIZES = ["256x751", "256x10575", "512x10572"]
STATS_SIZES = ["256x751", "256x10575"]


def parse_size(text: str) -> "tuple[int, int]":
    try:
        n, c = (int(v) for v in text.lower().split("x"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"Expected a size NxC such as 256x751, got {text!r}") from error
    return n, c


def make_cosines(n: int, c: int, kind: str, gen: torch.Generator):
    target = torch.randint(0, c, (n,), generator=gen)
    if kind == "uniform":
        return torch.rand(n, c, generator=gen) * 2 - 1, target
    cosine = (torch.randn(n, c, generator=gen) * 0.1).clamp_(-1, 1)
    cosine.scatter_(1, target.unsqueeze(1), torch.rand(n, 1, generator=gen) * 0.6 + 0.2)
    return cosine, target


def make_variants(n: int, c: int, scale: float, kind: str, seed: int):
    gen = torch.Generator().manual_seed(seed)
    cosine, target = make_cosines(n, c, kind, gen)
    cosine.requires_grad_()
    logits = (cosine.detach() * scale).requires_grad_()
    space = amlfs.SearchSpace()
    identity = space.identity()
    theta_random = identity + 0.5 * torch.randn(space.dim, generator=gen, dtype=torch.float64)

    def run_ce_scaled():
        cosine.grad = None
        F.cross_entropy(scale * cosine, target).backward()

    def run_ce_logits():
        logits.grad = None
        F.cross_entropy(logits, target).backward()

    def searched(theta):
        def run():
            cosine.grad = None
            amlfs.searched_softmax_loss(cosine, target, theta, scale).backward()

        return run

    return {
        "ce(s*cos)": run_ce_scaled,
        "ce(logits)": run_ce_logits,
        "searched/id": searched(identity),
        "searched/rand": searched(theta_random),
    }


def make_stats_variants(n: int, c: int, scale: float, kind: str, seed: int):
    """A loss call counting :class:`amlfs.LossStats` against the same call without the count."""
    gen = torch.Generator().manual_seed(seed)
    cosine, target = make_cosines(n, c, kind, gen)
    cosine.requires_grad_()
    space = amlfs.SearchSpace()
    identity = space.identity()
    theta_random = identity + 0.5 * torch.randn(space.dim, generator=gen, dtype=torch.float64)

    def module(theta, counting: bool):
        loss = amlfs.SearchedSoftmaxLoss(space.num_intervals)
        loss.set_theta(theta)
        if not counting:
            loss.stats = None  # the forward passes stats=None to the kernel: the count is skipped

        def run():
            cosine.grad = None
            with torch.enable_grad():
                loss(cosine, target, scale).backward()

        return run, loss

    def functional():
        cosine.grad = None
        amlfs.searched_softmax_loss(cosine, target, theta_random, scale).backward()

    variants, counters = {}, []
    for name, theta in (("id", identity), ("rand", theta_random)):
        variants[f"module/stats/{name}"], counting = module(theta, True)
        variants[f"module/no-stats/{name}"], _ = module(theta, False)
        counters.append(counting)
    variants["functional/rand"] = functional
    terms = amlfs.searched_softmax_terms(cosine.detach(), target, theta_random, scale)
    alone = LossStats()

    def add_alone():
        alone.add(terms.log_tau.c, terms.log_tau.floored, terms.t_slope)

    variants["stats.add alone"] = add_alone
    return variants, counters


def measure(variants, repeats: int, warmup: int, rng: random.Random):
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times = {name: [] for name in names}
    for _ in range(repeats):
        rng.shuffle(names)
        for name in names:
            start = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: all cores)")
    parser.add_argument("--repeats", type=int, default=100, help="timed repeats per size (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed repeats per size (default 5)")
    parser.add_argument("--scale", type=float, default=64.0, help="the fixed scale s (default 64)")
    parser.add_argument("--cosines", choices=["uniform", "trained"], default="uniform",
                        help="input distribution (default uniform)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stats", action="store_true",
                        help="time the LossStats count instead (default sizes 256x751 256x10575)")
    parser.add_argument("sizes", nargs="*", type=parse_size, default=None)
    args = parser.parse_args(argv)
    if not args.sizes:
        args.sizes = [parse_size(s) for s in (STATS_SIZES if args.stats else DEFAULT_SIZES)]
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, float32, scale {args.scale}, {args.cosines} cosines, "
          f"{args.repeats} repeats (median), load average {os.getloadavg()[0]:.2f} at start\n")
    if args.stats:
        return stats_table(args, rng)
    print("| N x C | variant | median ms | / ce(s*cos) | paired | / ce(logits) |")
    print("|---|---|---:|---:|---:|---:|")
    for n, c in args.sizes:
        times = measure(make_variants(n, c, args.scale, args.cosines, args.seed), args.repeats, args.warmup, rng)
        base = statistics.median(times["ce(s*cos)"])
        leaf = statistics.median(times["ce(logits)"])
        for name, values in times.items():
            med = statistics.median(values)
            paired = statistics.median(v / b for v, b in zip(values, times["ce(s*cos)"]))
            print(f"| {n}x{c} | {name} | {med * 1e3:.3f} | {med / base:.3f} | {paired:.3f} | {med / leaf:.3f} |")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


def stats_table(args, rng: random.Random) -> int:
    """``--stats``: medians, and the ratio of each variant to the same theta's ``no-stats`` call."""
    print("| N x C | variant | median ms | / no-stats | paired | examples counted |")
    print("|---|---|---:|---:|---:|---:|")
    for n, c in args.sizes:
        variants, counters = make_stats_variants(n, c, args.scale, args.cosines, args.seed)
        times = measure(variants, args.repeats, args.warmup, rng)
        for name, values in times.items():
            base = times["module/no-stats/" + ("id" if name.endswith("/id") else "rand")]  # "stats.add alone": rand
            med = statistics.median(values)
            paired = statistics.median(v / b for v, b in zip(values, base))
            counted = {"module/stats/id": counters[0], "module/stats/rand": counters[1]}.get(name)
            examples = "-" if counted is None else str(counted.stats.summary()["examples"])
            print(f"| {n}x{c} | {name} | {med * 1e3:.3f} | {med / statistics.median(base):.3f} | {paired:.3f} | "
                  f"{examples} |")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
