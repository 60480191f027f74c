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

With ``--agreement`` the runs are taken as seeds of one setting, and the coordinates of
``mu`` that moved the same way (``mu_final - mu_0``) in every run are listed; by chance a
coordinate does so with probability ``2 / 2^runs``.

    .venv/bin/python bench/search_signal.py runs/a runs/b [--shuffles 200] [--agreement]
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


def coordinate_names(m: int) -> List[str]:
    return [f"{block}[{i}]" for block in ("a_t", "b_t", "a_tau", "b_tau") for i in range(m)]


def agreement(run_dirs: Sequence[Path]) -> dict:
    """Coordinates of mu that moved the same way in every run, with their mean move."""
    moves = []
    for run_dir in run_dirs:
        epochs = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines() if '"epoch"' in line]
        epochs = [r for r in epochs if r["kind"] == "epoch"]
        moves.append([last - first for first, last in zip(epochs[0]["muBefore"], epochs[-1]["mu"])])
    names = coordinate_names(len(moves[0]) // 4)
    searched = [d for d in range(len(names)) if any(move[d] != 0 for move in moves)]
    same = []
    for d in searched:
        signs = {math.copysign(1.0, move[d]) for move in moves if move[d] != 0}
        if len(signs) == 1 and all(move[d] != 0 for move in moves):
            same.append({"coordinate": names[d], "meanMove": sum(move[d] for move in moves) / len(moves)})
    chance = len(searched) * 2.0 / 2 ** len(moves)
    return {"runs": len(moves), "searched": len(searched), "agreeing": same, "expectedByChance": chance}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--shuffles", type=int, default=200, help="reward shuffles for the noise reference")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--agreement", action="store_true", help="the runs are seeds of one setting: list the "
                        "coordinates of mu that moved the same way in all of them")
    args = parser.parse_args(argv)
    if args.agreement:
        row = agreement(args.runs)
        if args.json:
            print(json.dumps(row))
        else:
            moved = "; ".join(f"{c['coordinate']} {c['meanMove']:+.2f}" for c in row["agreeing"]) or "none"
            print(f"{row['runs']} runs, {row['searched']} searched coordinates: the same way in every run: {moved} "
                  f"(expected by chance: {row['expectedByChance']:.1f})")
        return 0
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
