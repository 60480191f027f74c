#!/usr/bin/env python3
"""MegaFace-style rank-1 identification with a million distractors: time and peak memory of
``amlfs.eval.face_identification.identification_rank1``, checked against brute force.

    python bench/face_identification.py                       # 80 x 10 probes, 1e6 distractors, 512-d (~2-4 min, 2 CPUs)
    python bench/face_identification.py --distractors 100000  # quicker
    python bench/face_identification.py --device cuda

Data (seeded, generated in memory, never written to disk): 80 probe identities x 10 images
(FaceScrub in MegaFace has 80 identities and ~3,500 images), 512-d float32 features =
identity centre (unit Gaussian) + Gaussian noise (std 1.7), so same-identity cosines are
around 0.25; distractors are unit Gaussian, drawn chunk by chunk from
``default_rng([seed, chunk])`` so the chunked and the materialised distractors are the same.

1. Check: a smaller problem (``--check-ids`` identities, ``--check-distractors``) in float64,
   against a brute force that builds the full [P, N] score matrix with NumPy and loops over
   the (a, b) pairs in Python; hit counts must be equal.
2. Streamed: distractors handed over as a generator of chunks (as read from feature files
   with ``iter_feature_chunks``); the time includes generating them.
3. In memory: the same distractors as one [N, 512] float32 array (2 GB at 1e6); the time
   excludes generating them. Both runs must give the same hits.

Memory: the process's peak resident set (VmHWM from /proc/self/status, reset before each
phase by writing 5 to /proc/self/clear_refs where Linux allows it; otherwise ru_maxrss, which
cannot be reset). tracemalloc is not used: it does not see torch's allocations.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np
import torch

from amlfs.eval.face_identification import identification_rank1

DIM, CENTRE_STD, NOISE_STD, CHUNK = 512, 1.0, 1.7, 65536


def probes(num_ids: int, per_id: int, seed: int, dtype=np.float32):
    rng = np.random.default_rng([seed, 10**9])
    ids = np.repeat(np.arange(num_ids), per_id)
    centres = CENTRE_STD * rng.standard_normal((num_ids, DIM))
    return (centres[ids] + NOISE_STD * rng.standard_normal((len(ids), DIM))).astype(dtype), ids


def distractor_chunks(num: int, seed: int, dtype=np.float32):
    for i, start in enumerate(range(0, num, CHUNK)):
        yield np.random.default_rng([seed, i]).standard_normal((min(CHUNK, num - start), DIM), dtype=np.float32).astype(dtype)


def brute_force(probe: np.ndarray, ids: np.ndarray, distractors: np.ndarray):
    """Full cosine score matrix, then one (a, b) pair at a time."""
    p = probe / np.linalg.norm(probe, axis=1, keepdims=True)
    d = distractors / np.linalg.norm(distractors, axis=1, keepdims=True)
    best = (p @ d.T).max(axis=1)
    pp = p @ p.T
    hits = pairs = 0
    for a in range(len(ids)):
        for b in range(len(ids)):
            if a != b and ids[a] == ids[b]:
                pairs += 1
                hits += pp[a, b] > best[a]
    return hits, pairs


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_gb():
    """(current RSS, peak RSS) in GB; the peak since the last reset_peak()."""
    fields = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    fields[key] = int(value.split()[0]) * 1024 / 1e9  # kB
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", maxrss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=80)
    parser.add_argument("--per-id", type=int, default=10)
    parser.add_argument("--distractors", type=int, default=1_000_000)
    parser.add_argument("--check-ids", type=int, default=20)
    parser.add_argument("--check-distractors", type=int, default=20_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}, "
          f"device {args.device}")

    probe, ids = probes(args.check_ids, args.per_id, args.seed, np.float64)
    distractors = np.concatenate(list(distractor_chunks(args.check_distractors, args.seed, np.float64)))
    start = time.perf_counter()
    ref_hits, ref_pairs = brute_force(probe, ids, distractors)
    t_ref = time.perf_counter() - start
    start = time.perf_counter()
    got = identification_rank1(probe, ids, distractors, device=args.device)
    t_ours = time.perf_counter() - start
    assert (got.num_hits, got.num_pairs) == (ref_hits, ref_pairs), (got, ref_hits, ref_pairs)
    got32 = identification_rank1(probe.astype(np.float32), ids, distractors.astype(np.float32), device=args.device)
    print(f"check: {len(ids)} probes ({args.check_ids} ids), {args.check_distractors} distractors, float64: "
          f"hits {got.num_hits}/{got.num_pairs} = brute force (ours {t_ours:.2f} s, brute force {t_ref:.2f} s); "
          f"float32 gives {got32.num_hits}/{got32.num_pairs}")

    probe, ids = probes(args.ids, args.per_id, args.seed)
    print(f"full: {len(ids)} probes ({args.ids} ids x {args.per_id}), {args.distractors} distractors x {DIM}-d float32")
    resettable = reset_peak()
    rss0 = memory_gb()[0]
    start = time.perf_counter()
    streamed = identification_rank1(probe, ids, distractor_chunks(args.distractors, args.seed), device=args.device)
    t_streamed = time.perf_counter() - start
    rss, peak = memory_gb()
    print(f"  streamed chunks (incl. generation) {t_streamed:7.1f} s   rank1 {streamed.rank1:.4f} "
          f"({streamed.num_hits}/{streamed.num_pairs})   RSS before {rss0:.2f} GB, peak {peak:.2f} GB"
          f"{'' if resettable else ' (ru_maxrss, not reset)'}")

    start = time.perf_counter()
    everything = np.empty((args.distractors, DIM), dtype=np.float32)
    for i, chunk in enumerate(distractor_chunks(args.distractors, args.seed)):
        everything[i * CHUNK:i * CHUNK + chunk.shape[0]] = chunk
    t_gen = time.perf_counter() - start
    reset_peak()
    rss0 = memory_gb()[0]
    start = time.perf_counter()
    in_memory = identification_rank1(probe, ids, everything, device=args.device)
    t_mem = time.perf_counter() - start
    rss, peak = memory_gb()
    assert in_memory == streamed, (in_memory, streamed)
    print(f"  generation of the [N, {DIM}] array    {t_gen:7.1f} s")
    print(f"  in-memory array                    {t_mem:7.1f} s   same hits; RSS before {rss0:.2f} GB "
          f"(array {everything.nbytes / 1e9:.2f} GB), peak {peak:.2f} GB")
    print(f"  process peak (ru_maxrss)           {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
