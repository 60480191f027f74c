#!/usr/bin/env python3
"""Re-ID evaluation speed: ``amlfs.eval.evaluate_reid`` against a plain NumPy reference, and
k-reciprocal re-ranking, on a synthetic Market-1501-sized problem.

    python bench/reid_eval.py                          # full size: metrics and re-ranking (~2 min, 2 CPUs)
    python bench/reid_eval.py --rerank-scale 0.25      # re-ranking on a quarter-size problem
    python bench/reid_eval.py --scale 0.25 --threads 1

Data (seeded): 750 identities, 6 cameras; 3,368 queries (each identity 4-5 times); gallery of
15,913 with 2,798 distractors (pid 0) and the rest spread over the 750 identities, as in
Market-1501's test split after junk removal. Features are 2,048-d: an identity centre plus
Gaussian noise (distractors: noise around their own random centres), so the ranking is
neither perfect nor random. Distances: Euclidean, float32.

The reference ranks each query with ``np.argsort(kind="stable")`` in a Python loop and scores
it with the same protocol (same pid and camera removed, junk removed, distractors kept,
non-interpolated AP); the two results are asserted equal before any time is reported.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from amlfs.eval import evaluate_reid, pairwise_distance, rerank_features

NUM_IDS, NUM_CAMS, DIM = 750, 6, 2048
CENTRE_STD = 0.25  # against unit noise: rank-1 well below 1 at this dimension
FULL_Q, FULL_G, FULL_DISTRACTORS = 3368, 15913, 2798


def make_problem(scale: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    num_ids = max(2, round(NUM_IDS * scale))
    num_q, num_g = round(FULL_Q * scale), round(FULL_G * scale)
    num_distractors = round(FULL_DISTRACTORS * scale)
    q_pids = 1 + np.arange(num_q) % num_ids
    q_camids = rng.integers(0, NUM_CAMS, size=num_q)
    g_pids = np.concatenate([np.zeros(num_distractors, dtype=np.int64),
                             1 + rng.integers(0, num_ids, size=num_g - num_distractors)])
    g_camids = rng.integers(0, NUM_CAMS, size=num_g)
    centres = (CENTRE_STD * rng.normal(size=(num_ids + 1, DIM))).astype(np.float32)

    def feats(pids):
        base = np.where(pids[:, None] > 0, centres[pids], CENTRE_STD * rng.normal(size=(len(pids), DIM)))
        return (base + rng.normal(size=(len(pids), DIM))).astype(np.float32)

    return feats(q_pids), feats(g_pids), q_pids, g_pids, q_camids, g_camids


def numpy_reference(dist, q_pids, g_pids, q_camids, g_camids, max_rank):
    cmc_counts = np.zeros(max_rank)
    aps = []
    for i in range(dist.shape[0]):
        order = np.argsort(dist[i], kind="stable")
        keep = ~((g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i])) & (g_pids[order] != -1)
        matches = (g_pids[order] == q_pids[i])[keep]
        if not matches.any():
            continue
        first = int(np.argmax(matches))
        cmc_counts[first:] += 1
        hits = np.cumsum(matches)
        precision = hits / np.arange(1, len(matches) + 1)
        aps.append(float((precision * matches).sum() / matches.sum()))
    return cmc_counts / len(aps), float(np.mean(aps)), len(aps)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the Market-1501 sizes for the metrics")
    parser.add_argument("--rerank-scale", type=float, default=1.0, help="fraction for re-ranking; 0 skips it")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--max-rank", type=int, default=50)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}")

    qf, gf, q_pids, g_pids, q_camids, g_camids = make_problem(args.scale)
    print(f"metrics: {len(q_pids)} queries x {len(g_pids)} gallery, {DIM}-d")
    dist, t_dist = timed(lambda: pairwise_distance(torch.from_numpy(qf), torch.from_numpy(gf)))
    ours, t_ours = timed(lambda: evaluate_reid(dist, q_pids, g_pids, q_camids, g_camids, max_rank=args.max_rank))
    dist_np = dist.numpy()
    ref, t_ref = timed(lambda: numpy_reference(dist_np, q_pids, g_pids, q_camids, g_camids, args.max_rank))
    np.testing.assert_allclose(ours.cmc.numpy(), ref[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.mAP, ref[1], rtol=0, atol=1e-9)
    assert ours.num_valid_queries == ref[2]
    print(f"  pairwise_distance        {t_dist:8.2f} s")
    print(f"  evaluate_reid            {t_ours:8.2f} s   rank1 {ours.rank1:.4f} rank5 {ours.rank5:.4f} "
          f"rank10 {ours.rank10:.4f} mAP {ours.mAP:.4f} valid {ours.num_valid_queries}/{ours.num_queries}")
    print(f"  numpy reference (loop)   {t_ref:8.2f} s   same results (CMC to 1e-12, mAP to 1e-9)")
    print(f"  reference / ours         {t_ref / t_ours:8.1f}x")

    if args.rerank_scale > 0:
        qf, gf, q_pids, g_pids, q_camids, g_camids = make_problem(args.rerank_scale, seed=1)
        print(f"re-ranking (k1=20, k2=6, lambda=0.3): {len(q_pids)} queries x {len(g_pids)} gallery, {DIM}-d")
        base = evaluate_reid(pairwise_distance(torch.from_numpy(qf), torch.from_numpy(gf)), q_pids, g_pids,
                             q_camids, g_camids)
        rr, t_rr = timed(lambda: rerank_features(torch.from_numpy(qf), torch.from_numpy(gf)))
        after = evaluate_reid(rr, q_pids, g_pids, q_camids, g_camids)
        print(f"  rerank_features          {t_rr:8.2f} s")
        print(f"  before: rank1 {base.rank1:.4f} mAP {base.mAP:.4f}; after: rank1 {after.rank1:.4f} mAP {after.mAP:.4f}")


if __name__ == "__main__":
    main()
