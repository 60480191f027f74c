"""Does the REINFORCE direction of a finished run carry signal, or is it noise?

For each epoch of a run's journal this recomputes the ascent direction of Eq. 19-20,
``g_t = (1/n) sum_k Rn_k (theta_k - mu_t) / sigmaStd^2`` over the finished samples (the
journal's ``thetas``, ``normalized`` and ``muBefore``; coordinates the space form holds give
0), and reports two numbers:

- ``consistency = ||mean_t g_t|| / mean_t ||g_t||``: 1 when every epoch points the same way;
  about ``1 / sqrt(T)`` when the ``g_t`` are independent noise (T epochs with a direction);
- ``mean cos(g_t, g_{t+1})``: about 0 for noise.

The reference for noise is computed the same way from directions whose rewards are
shuffled between the samples of each epoch (seeded), so it has the run's own scale and
number of samples.

    .venv/bin/python bench/search_signal.py runs/a runs/b [--shuffles 200]
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import List, Optional, Sequence

Vector = List[float]


def direction(thetas: Sequence[Vector], normalized: Sequence[Optional[float]], mu: Vector, sigma: float) -> Vector:
    """Eq. 19-20: ``(1/n) sum_k Rn_k (theta_k - mu) / sigma^2`` over the samples with a reward."""
    total = [0.0] * len(mu)
    n = 0
    for theta, rn in zip(thetas, normalized):
        if rn is None:
            continue
        n += 1
        for d, (value, center) in enumerate(zip(theta, mu)):
            total[d] += rn * (value - center) / (sigma * sigma)
    return [value / n for value in total] if n else total


def norm(v: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def consistency(directions: Sequence[Vector]) -> tuple:
    """``(||mean g|| / mean ||g||, mean cos(g_t, g_t+1))`` over the non-zero directions."""
    gs = [g for g in directions if norm(g) > 0]
    if len(gs) < 2:
        return math.nan, math.nan
    mean = [sum(g[d] for g in gs) / len(gs) for d in range(len(gs[0]))]
    ratio = norm(mean) / (sum(norm(g) for g in gs) / len(gs))
    cosines = [sum(a * b for a, b in zip(g, h)) / (norm(g) * norm(h)) for g, h in zip(gs, gs[1:])]
    return ratio, sum(cosines) / len(cosines)


def run_signal(run_dir: Path, shuffles: int, seed: int = 0) -> dict:
    config = json.loads((run_dir / "config.json").read_text())
    sigma = float(config["search"]["sigmaStd"])
    records = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines() if line.strip()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    if config["search"]["mode"] != "amlfs" or not epochs:
        raise SystemExit(f"{run_dir}: expected an amlfs run with finished epochs")
    actual = consistency([direction(r["thetas"], r["normalized"], r["muBefore"], sigma) for r in epochs])
    rng = random.Random(seed)
    noise = []
    for _ in range(shuffles):
        shuffled = []
        for r in epochs:
            rewards = list(r["normalized"])
            rng.shuffle(rewards)
            shuffled.append(direction(r["thetas"], rewards, r["muBefore"], sigma))
        noise.append(consistency(shuffled)[0])
    noise.sort()
    return {
        "run": str(run_dir),
        "epochs": len(epochs),
        "consistency": actual[0],
        "meanCosNext": actual[1],
        "noiseMedian": noise[len(noise) // 2],
        "noise95": noise[min(len(noise) - 1, int(0.95 * len(noise)))],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--shuffles", type=int, default=200, help="reward shuffles for the noise reference")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    for run in args.runs:
        row = run_signal(run, args.shuffles)
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['run']}: consistency {row['consistency']:.3f} (shuffled rewards: median {row['noiseMedian']:.3f}, "
                  f"95th percentile {row['noise95']:.3f}), mean cos(g_t, g_t+1) {row['meanCosNext']:+.3f}, "
                  f"{row['epochs']} epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
