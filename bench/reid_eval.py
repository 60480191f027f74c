#!/usr/bin/env python3
"""Re-ID evaluation speed: ``amlfs.eval.evaluate_reid`` and k-reciprocal re-ranking against a
plain NumPy reference and, when its source is given, torchreid's own code, side by side in
one run on a synthetic Market-1501-sized problem.

    python bench/reid_eval.py                          # full size: metrics and re-ranking (~3 min, 2 CPUs)
    python bench/reid_eval.py --torchreid-dir <torchreid checkout>   # also torchreid's code (~10 min)
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

torchreid (KaiyangZhou/deep-person-reid) is not a dependency: ``--torchreid-dir`` (or
``TORCHREID_DIR``) names a folder holding its ``torchreid/metrics/rank.py`` and
``torchreid/utils/rerank.py``, loaded by file path (the torchreid package itself needs
torchvision). If ``torchreid/metrics/rank_cylib/rank_cy*.so`` was built there
(``python setup.py build_ext --inplace`` in that folder, with Cython), its ``evaluate_cy`` is
timed too. Compared: ``eval_market1501`` / ``evaluate_cy`` against ``evaluate_reid`` (CMC@1..50
and mAP), and ``re_ranking(q_g, q_q, g_g)`` against ``amlfs.eval.rerank`` on the same three
Euclidean matrices (q_q and g_g symmetrised, so that torchreid's column-max normalisation
equals our row-max one), then the metrics of both re-ranked matrices. torchreid orders exact
float32 ties with ``np.argsort``'s unstable default, we by index; when that makes the
re-ranked distances differ by more than 1e-5, its ``re_ranking`` is re-run with a stable
``argsort`` swapped in, and that result must agree to 1e-5.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import glob
import importlib.util
import os
import platform
import resource
import statistics
import sys
import threading
import time
import warnings
from types import ModuleType
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from amlfs.eval import evaluate_reid, pairwise_distance, rerank, rerank_features

NUM_IDS, NUM_CAMS, DIM = 750, 6, 2048
CENTRE_STD = 0.25  # against unit noise: rank-1 well below 1 at this dimension
FULL_Q, FULL_G, FULL_DISTRACTORS = 3368, 15913, 2798
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


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


def pin_mmap_threshold(threshold_bytes: int = 4 << 20) -> None:
    """Have glibc serve blocks of >= 4 MiB by mmap and unmap them on free, so that RSS tracks live
    memory (by default the threshold rises up to 32 MiB after frees and freed blocks stay in
    the heap, hiding later peaks). Smaller temporaries, e.g. in per-row loops, are unaffected."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if not hasattr(libc, "mallopt") or not libc.mallopt(-3, threshold_bytes):  # -3: M_MMAP_THRESHOLD
        print("# mallopt(M_MMAP_THRESHOLD) unavailable: peak RSS figures may hide reused heap memory")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_BYTES


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def timed_with_memory(fn):
    """``(out, seconds, peak RSS growth in bytes)``. RSS is sampled every 5 ms by a thread, so
    the peak is approximate (code that holds the GIL, as Cython loops do, is sampled less)."""
    base = peak = _rss_bytes()
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, _rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, seconds = timed(fn)
    finally:
        done.set()
        sampler.join()
    return out, seconds, max(peak, _rss_bytes()) - base


def load_torchreid(folder: Optional[str]) -> Dict[str, Callable]:
    """torchreid's ``eval_market1501``, ``re_ranking`` and, if built, ``evaluate_cy`` from
    ``folder``, loaded by file path; empty when ``folder`` is None."""
    if not folder:
        return {}

    def load(name: str, path: str) -> ModuleType:
        if not os.path.isfile(path):
            raise SystemExit(f"--torchreid-dir {folder}: expected torchreid's source at {path}, not found "
                             "(git archive <commit> torchreid/metrics torchreid/utils/rerank.py from "
                             "KaiyangZhou/deep-person-reid)")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        with warnings.catch_warnings():  # rank.py warns that its own Cython import failed
            warnings.simplefilter("ignore")
            spec.loader.exec_module(module)
        return module

    found = {"eval_market1501": load("torchreid_rank", os.path.join(folder, "torchreid/metrics/rank.py")).eval_market1501,
             "re_ranking": load("torchreid_rerank", os.path.join(folder, "torchreid/utils/rerank.py")).re_ranking}
    built = sorted(glob.glob(os.path.join(folder, "torchreid/metrics/rank_cylib/rank_cy*.so")))
    if built:
        found["evaluate_cy"] = load("rank_cy", built[0]).evaluate_cy
    else:
        print(f"# torchreid Cython evaluate_cy not built in {folder}/torchreid/metrics/rank_cylib: timing its numpy "
              "eval_market1501 only")
    commit_file = os.path.join(folder, "COMMIT")
    note = "commit not recorded"
    if os.path.isfile(commit_file):
        with open(commit_file) as f:
            note = f.read().strip()
    print(f"# torchreid from {folder} ({note}): {', '.join(found)}")
    return found


def bench_metrics(args, torchreid: Dict[str, Callable]) -> None:
    qf, gf, q_pids, g_pids, q_camids, g_camids = make_problem(args.scale)
    print(f"metrics: {len(q_pids)} queries x {len(g_pids)} gallery, {DIM}-d, max_rank {args.max_rank}, "
          f"{args.repeats} interleaved rounds (median s; sides 5x slower than ours run once; peak RSS "
          "growth in the first round)")
    dist, t_dist = timed(lambda: pairwise_distance(torch.from_numpy(qf), torch.from_numpy(gf)))
    dist_np = dist.numpy()
    ids = (q_pids, g_pids, q_camids, g_camids)
    sides = {"evaluate_reid (ours)": lambda: evaluate_reid(dist, *ids, max_rank=args.max_rank),
             "numpy reference (loop)": lambda: numpy_reference(dist_np, *ids, args.max_rank)}
    if "eval_market1501" in torchreid:
        sides["torchreid eval_market1501"] = lambda: torchreid["eval_market1501"](dist_np, *ids, args.max_rank)
    if "evaluate_cy" in torchreid:
        sides["torchreid evaluate_cy"] = lambda: torchreid["evaluate_cy"](dist_np, *ids, args.max_rank)
    times: Dict[str, List[float]] = {name: [] for name in sides}
    peaks, outs = {}, {}
    for round_index in range(args.repeats):
        for name, fn in sides.items():
            if round_index and times[name][0] > 5 * times["evaluate_reid (ours)"][0]:
                continue  # a side 5x slower than ours is timed once: its ratio is not in doubt
            outs[name], seconds, peak = timed_with_memory(fn)
            times[name].append(seconds)
            peaks.setdefault(name, peak)

    ours = outs["evaluate_reid (ours)"]
    ref = outs["numpy reference (loop)"]
    np.testing.assert_allclose(ours.cmc.numpy(), ref[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.mAP, ref[1], rtol=0, atol=1e-9)
    assert ours.num_valid_queries == ref[2]
    agreement = {"numpy reference (loop)": "same results (CMC to 1e-12, mAP to 1e-9)"}
    for name in ("torchreid eval_market1501", "torchreid evaluate_cy"):
        if name in outs:
            cmc, mAP = outs[name]
            cmc_diff = float(np.abs(ours.cmc.numpy() - cmc).max())
            map_diff = abs(ours.mAP - float(mAP))
            assert cmc_diff <= 1e-6 and map_diff <= 1e-6, f"{name} differs: CMC {cmc_diff:.2e}, mAP {map_diff:.2e}"
            agreement[name] = f"max |dCMC| {cmc_diff:.1e}, |dmAP| {map_diff:.1e}"

    t_ours = statistics.median(times["evaluate_reid (ours)"])
    print(f"  pairwise_distance          {t_dist:8.2f} s")
    print(f"  evaluate_reid              {t_ours:8.2f} s   peak +{peaks['evaluate_reid (ours)'] / 2**20:5.0f} MiB   "
          f"rank1 {ours.rank1:.4f} rank5 {ours.rank5:.4f} rank10 {ours.rank10:.4f} mAP {ours.mAP:.4f} "
          f"valid {ours.num_valid_queries}/{ours.num_queries}")
    for name in sides:
        if name == "evaluate_reid (ours)":
            continue
        t = statistics.median(times[name])
        print(f"  {name:26s} {t:8.2f} s   peak +{peaks[name] / 2**20:5.0f} MiB   {t / t_ours:5.1f}x ours   "
              f"{agreement[name]}   all: {', '.join(f'{s:.2f}' for s in times[name])}")
    print(f"  evaluate_reid all rounds:  {', '.join(f'{s:.2f}' for s in times['evaluate_reid (ours)'])}")


def symmetric_distance(feats: torch.Tensor) -> np.ndarray:
    d = pairwise_distance(feats, feats)
    return ((d + d.T) / 2).numpy()


def bench_rerank(args, torchreid: Dict[str, Callable]) -> None:
    qf, gf, q_pids, g_pids, q_camids, g_camids = make_problem(args.rerank_scale, seed=1)
    ids = (q_pids, g_pids, q_camids, g_camids)
    print(f"re-ranking (k1=20, k2=6, lambda=0.3): {len(q_pids)} queries x {len(g_pids)} gallery, {DIM}-d")
    q, g = torch.from_numpy(qf), torch.from_numpy(gf)
    base = evaluate_reid(pairwise_distance(q, g), *ids)
    rr, t_rr, m_rr = timed_with_memory(lambda: rerank_features(q, g))
    after = evaluate_reid(rr, *ids)
    print(f"  rerank_features (ours)   {t_rr:8.2f} s   peak +{m_rr / 2**20:5.0f} MiB")
    print(f"  before: rank1 {base.rank1:.4f} mAP {base.mAP:.4f}; after: rank1 {after.rank1:.4f} mAP {after.mAP:.4f}")
    if "re_ranking" not in torchreid:
        print("  torchreid re_ranking: skipped (no --torchreid-dir / TORCHREID_DIR)")
        return
    del rr
    q_g = pairwise_distance(q, g).numpy()
    q_q, g_g = symmetric_distance(q), symmetric_distance(g)
    ours, t_ours, m_ours = timed_with_memory(lambda: rerank(q_g, q_q, g_g))
    ours = ours.numpy()
    theirs, t_theirs, m_theirs = timed_with_memory(lambda: torchreid["re_ranking"](q_g, q_q, g_g))
    print(f"  rerank(q_g, q_q, g_g) (ours) {t_ours:8.2f} s   peak +{m_ours / 2**20:5.0f} MiB")
    print(f"  torchreid re_ranking         {t_theirs:8.2f} s   peak +{m_theirs / 2**20:5.0f} MiB   "
          f"{t_theirs / t_ours:5.1f}x ours")
    diff = compare_reranked("torchreid's", ours, theirs, ids)
    if diff > 1e-5:
        # torchreid ranks neighbours with np.argsort's default (unstable) sort; we break exact
        # float32 ties by index. Re-run theirs with a stable argsort to show that ties are the cause.
        stable = with_stable_argsort(torchreid["re_ranking"], q_g, q_q, g_g)
        diff = compare_reranked("torchreid's with a stable argsort", ours, stable, ids)
        assert diff <= 1e-5, f"re-ranked distances differ from torchreid's (stable argsort) by up to {diff:.2e}"


def compare_reranked(label: str, ours: np.ndarray, theirs: np.ndarray, ids) -> float:
    """Prints how ``theirs [Q, G]`` differs from ``ours`` and returns the max absolute difference."""
    diff = np.abs(ours - theirs)
    m_a, m_b = evaluate_reid(ours, *ids), evaluate_reid(theirs, *ids)
    same_top = float((np.argsort(ours, axis=1, kind="stable")[:, :10]
                      == np.argsort(theirs, axis=1, kind="stable")[:, :10]).all(axis=1).mean())
    print(f"  vs {label}: final distances max |diff| {diff.max():.2e} (mean {diff.mean():.1e}, "
          f"{int((diff > 1e-5).any(axis=1).sum())} query rows > 1e-5); same top-10 for {same_top:.4f} of the queries")
    print(f"    after re-ranking, ours: rank1 {m_a.rank1:.6f} mAP {m_a.mAP:.6f}; theirs: rank1 {m_b.rank1:.6f} "
          f"mAP {m_b.mAP:.6f}; max |dCMC@1..10| {float((m_a.cmc - m_b.cmc).abs().max()):.1e}")
    return float(diff.max())


class _StableArgsortNumpy:
    """numpy, except that ``argsort`` defaults to a stable sort (ties keep index order)."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def argsort(a, axis=-1, kind=None, order=None):
        return np.argsort(a, axis=axis, kind=kind or "stable", order=order)


def with_stable_argsort(fn: Callable, *args):
    """Calls torchreid's ``fn`` with its module's ``np`` swapped for :class:`_StableArgsortNumpy`."""
    module_globals = fn.__globals__
    saved = module_globals["np"]
    module_globals["np"] = _StableArgsortNumpy()
    try:
        return fn(*args)
    finally:
        module_globals["np"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the Market-1501 sizes for the metrics")
    parser.add_argument("--rerank-scale", type=float, default=1.0, help="fraction for re-ranking; 0 skips it")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--max-rank", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds of the metric timings")
    parser.add_argument("--torchreid-dir", default=os.environ.get("TORCHREID_DIR"),
                        help="folder with torchreid's source (default: $TORCHREID_DIR); skipped when absent")
    args = parser.parse_args()
    pin_mmap_threshold()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to tee; the full run takes minutes
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}")
    torchreid = load_torchreid(args.torchreid_dir)
    if args.scale > 0:
        bench_metrics(args, torchreid)
    if args.rerank_scale > 0:
        bench_rerank(args, torchreid)
    print(f"# process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
