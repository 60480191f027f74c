"""Person re-ID retrieval metrics: CMC@k and mAP (Market-1501 / DukeMTMC protocol).

The protocol follows torchreid and fast-reid (Zheng et al., "Scalable Person
Re-identification: A Benchmark", ICCV 2015). For each query:

- gallery items with the query's pid *and* camid are removed (same person seen by the
  same camera is not a re-identification);
- gallery items with pid -1 (junk) are removed; callers usually drop them already;
- distractors (pid 0) stay and count as negatives;
- the remaining gallery is ranked by increasing distance. Ties are broken by the gallery
  index (a stable sort), so the result is deterministic on every device;
- a query without any remaining true match is skipped and counted in
  ``num_queries - num_valid_queries``.

AP is non-interpolated: the mean over true matches of the precision at their rank
(``ap_variant = "non-interpolated"``, the torchreid/fast-reid variant; Market-1501's
official MATLAB code uses a trapezoid-interpolated one that is slightly different).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch

ArrayLike = Union[torch.Tensor, np.ndarray]

AP_VARIANT = "non-interpolated"
JUNK_PID = -1
# Bounds the [chunk, G] work tensors (sort indices, masks, cumulative sums): about
# 2^22 elements, so ~32 MiB for each int64 one.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class ReidMetrics:
    """``cmc [max_rank]`` (float64, fraction of valid queries with a true match within rank k+1)
    and ``mAP`` over the ``num_valid_queries`` queries that have at least one true match."""

    cmc: torch.Tensor
    mAP: float
    num_valid_queries: int
    num_queries: int
    ap_variant: str = AP_VARIANT

    def rank(self, k: int) -> float:
        """CMC at rank ``k`` (1-based)."""
        if not 1 <= k <= self.cmc.shape[0]:
            raise ValueError(f"Expected a rank in [1, {self.cmc.shape[0]}] (max_rank), got {k}")
        return float(self.cmc[k - 1])

    @property
    def rank1(self) -> float:
        return self.rank(1)

    @property
    def rank5(self) -> float:
        return self.rank(5)

    @property
    def rank10(self) -> float:
        return self.rank(10)

    def as_dict(self) -> dict:
        out = {"mAP": self.mAP, "num_valid_queries": self.num_valid_queries,
               "num_queries": self.num_queries, "ap_variant": self.ap_variant}
        for k in (1, 5, 10):
            if k <= self.cmc.shape[0]:
                out[f"rank{k}"] = self.rank(k)
        return out


def _as_tensor(name: str, value: ArrayLike, device: Optional[torch.device] = None) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    elif not isinstance(value, torch.Tensor):
        raise TypeError(f"Expected `{name}` to be a torch.Tensor or numpy.ndarray, got {type(value).__name__}")
    return value if device is None else value.to(device)


def _as_ids(name: str, value: ArrayLike, length: int, device: torch.device) -> torch.Tensor:
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    ids = _as_tensor(name, value, device)
    if ids.shape != (length,):
        raise ValueError(f"Expected `{name}` of shape [{length}], got {list(ids.shape)}")
    if ids.is_floating_point() or ids.is_complex():
        raise ValueError(f"Expected `{name}` to hold integers, got dtype {ids.dtype}")
    return ids.long()


def _chunk_rows(num_cols: int, chunk_size: Optional[int]) -> int:
    if chunk_size is not None:
        if chunk_size < 1:
            raise ValueError(f"Expected `chunk_size` to be a positive integer, got {chunk_size}")
        return chunk_size
    return max(1, _CHUNK_ELEMENTS // max(num_cols, 1))


def evaluate_reid(distmat: ArrayLike, q_pids: ArrayLike, g_pids: ArrayLike, q_camids: ArrayLike,
                  g_camids: ArrayLike, max_rank: int = 10, chunk_size: Optional[int] = None) -> ReidMetrics:
    """CMC and mAP of ``distmat [Q, G]`` (smaller is closer) under the re-ID protocol above.

    ``q_pids, q_camids [Q]`` and ``g_pids, g_camids [G]`` are integer ids (lists accepted). Inputs may be torch
    tensors (CPU or CUDA; the work runs on ``distmat``'s device) or numpy arrays. Queries are
    processed ``chunk_size`` at a time (default: about 4M distance entries per chunk), so the
    extra memory is a few ``[chunk, G]`` tensors. ``max_rank`` may exceed the gallery size; the
    CMC then stays flat past the last gallery item.
    """
    dist = _as_tensor("distmat", distmat)
    if dist.dim() != 2:
        raise ValueError(f"Expected `distmat` of shape [Q, G], got {list(dist.shape)}")
    if not dist.is_floating_point():
        dist = dist.double()
    num_q, num_g = dist.shape
    if num_q == 0 or num_g == 0:
        raise ValueError(f"Expected a non-empty `distmat`, got shape {list(dist.shape)}")
    if isinstance(max_rank, bool) or not isinstance(max_rank, int) or max_rank < 1:
        raise ValueError(f"Expected `max_rank` to be a positive integer, got {max_rank!r}")
    if torch.isnan(dist).any():
        raise ValueError("`distmat` contains NaN; distances must be ordered")
    device = dist.device
    q_pids = _as_ids("q_pids", q_pids, num_q, device)
    q_camids = _as_ids("q_camids", q_camids, num_q, device)
    g_pids = _as_ids("g_pids", g_pids, num_g, device)
    g_camids = _as_ids("g_camids", g_camids, num_g, device)

    cmc_hits = torch.zeros(max_rank, dtype=torch.float64, device=device)
    ap_sum = torch.zeros((), dtype=torch.float64, device=device)
    num_valid = torch.zeros((), dtype=torch.long, device=device)
    ranks = torch.arange(max_rank, device=device)
    step = _chunk_rows(num_g, chunk_size)
    for start in range(0, num_q, step):
        rows = slice(start, min(start + step, num_q))
        # Stable: equal distances keep gallery-index order.
        order = torch.sort(dist[rows], dim=1, stable=True).indices
        # Judge each pair in gallery order, then reorder one byte per pair: 1 = kept, 3 = true match.
        same_pid = g_pids[None, :] == q_pids[rows, None]
        keep = ~(same_pid & (g_camids[None, :] == q_camids[rows, None])) & (g_pids != JUNK_PID)[None, :]
        code = torch.gather(keep.to(torch.uint8) * (1 + 2 * same_pid.to(torch.uint8)), 1, order)
        keep, match = code != 0, code == 3
        # 1-based position of every kept item in the filtered ranking.
        position = torch.cumsum(keep, dim=1, dtype=torch.int32)
        # True matches only, row-major: (query row, filtered position, hit number t = 1, 2, ...).
        row, col = match.nonzero(as_tuple=True)
        pos = position[row, col].double()
        num_rel = match.sum(dim=1)
        hit_start = torch.cumsum(num_rel, dim=0) - num_rel
        hit = (torch.arange(row.shape[0], device=device) - hit_start[row] + 1).double()
        ap = torch.zeros(num_rel.shape[0], dtype=torch.float64, device=device).index_add_(0, row, hit / pos)
        valid = num_rel > 0
        ap_sum += (ap[valid] / num_rel[valid].double()).sum()
        first = pos[hit == 1]  # one per valid query
        cmc_hits += ((first[:, None] - 1) <= ranks[None, :]).sum(dim=0).double()
        num_valid += valid.sum()
    n_valid = int(num_valid)
    if n_valid == 0:
        raise ValueError(f"No query out of {num_q} has a true match in the gallery after removing "
                         "same-camera matches and junk; CMC and mAP are undefined")
    return ReidMetrics(cmc=(cmc_hits / n_valid).cpu(), mAP=float(ap_sum) / n_valid,
                       num_valid_queries=n_valid, num_queries=num_q)


def pairwise_distance(query_feats: ArrayLike, gallery_feats: ArrayLike, metric: str = "euclidean",
                      chunk_size: Optional[int] = None) -> torch.Tensor:
    """``[Q, G]`` distances between ``query_feats [Q, D]`` and ``gallery_feats [G, D]``.

    ``metric``: ``"euclidean"`` (L2 distance), ``"sqeuclidean"`` (its square, what torchreid
    calls "euclidean"; same ranking) or ``"cosine"`` (1 - cosine similarity, features
    L2-normalised first). Computed ``chunk_size`` query rows at a time via
    ``|q|^2 + |g|^2 - 2 q.g`` (clamped at 0), in the features' floating dtype, on their device.
    """
    q = _as_tensor("query_feats", query_feats)
    g = _as_tensor("gallery_feats", gallery_feats, q.device)
    if q.dim() != 2 or g.dim() != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(f"Expected query_feats [Q, D] and gallery_feats [G, D], got {list(q.shape)} and {list(g.shape)}")
    if not q.is_floating_point():
        q = q.float()
    g = g.to(q.dtype)
    if metric == "cosine":
        q = torch.nn.functional.normalize(q, dim=1)
        g = torch.nn.functional.normalize(g, dim=1)
    elif metric not in ("euclidean", "sqeuclidean"):
        raise ValueError(f"Expected `metric` to be 'euclidean', 'sqeuclidean' or 'cosine', got {metric!r}")
    out = torch.empty(q.shape[0], g.shape[0], dtype=q.dtype, device=q.device)
    g_sq = (g * g).sum(dim=1)
    step = _chunk_rows(g.shape[0], chunk_size)
    for start in range(0, q.shape[0], step):
        qc = q[start:start + step]
        if metric == "cosine":
            out[start:start + step] = 1.0 - qc @ g.T
            continue
        d2 = ((qc * qc).sum(dim=1, keepdim=True) + g_sq[None, :]).addmm_(qc, g.T, alpha=-2.0).clamp_(min=0)
        out[start:start + step] = d2.sqrt_() if metric == "euclidean" else d2
    return out
