"""k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with
k-reciprocal Encoding", CVPR 2017), memory-bounded, in torch on CPU or CUDA.

The steps are those of the paper and of its published code, on all N = Q + G items:

1. ``d(i, j)``: the given distance squared, then divided by the maximum of its row
   (the published code's normalisation; pass Euclidean distances, not squared ones, to get
   the paper's squared-Euclidean distance).
2. ``R(i, k1)``: the k1-reciprocal neighbours of i among its k1 + 1 nearest (i included);
   neighbour lists come from a stable sort, so ties go to the lower index.
3. Expansion: for each ``c`` in ``R(i, k1)``, its set ``R(c, h)`` with ``h = round(k1 / 2)``
   (round half to even, as numpy's ``around``) is added when
   ``|R(c, h) & R(i, k1)| > 2/3 |R(c, h)|``.
4. ``V[i, j] = exp(-d(i, j))`` on the expanded set, normalised to sum to 1 (Gaussian kernel).
5. Local query expansion (if ``k2 != 1``): ``V[i] <- mean of V[j]`` over the k2 nearest j of i.
6. Jaccard distance ``1 - sum_j min(V[p, j], V[g, j]) / sum_j max(...)``; with rows of V
   summing to 1 the denominator is ``2 - numerator``.
7. ``final = (1 - lambda_value) * jaccard + lambda_value * d`` on the query x gallery block.

Memory: the N x N distance is never built. It is visited twice in row blocks of
``block_size`` rows (default: about 4M entries per block; each block ``[block_size, N]`` in
``dtype`` plus its int64 sort indices), either sliced from the three caller-held blocks
(:func:`rerank`) or recomputed from features (:func:`rerank_features`). Kept across blocks:
the ``[N, max(k1 + 1, k2)]`` int64 neighbour table, V as padded sparse rows (``[N, W]``
indices and values, W the widest row support: at most ``(k1 + 1)(h + 2)`` before query
expansion and k2 times that after) and the ``[Q, G]`` normalised distance and output. The
Jaccard step works on one block of queries at a time through an inverted index of V. For a
Market-1501-sized problem (N = 19,281, defaults, float32) ``bench/reid_eval.py`` measures a
whole-process peak of 1.9 GB, of which about 1 GB is the bench's own features and distance
matrices; one dense N x N float32 matrix alone would be 1.5 GB.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch

from .reid_metrics import ArrayLike, _as_tensor, pairwise_distance

RowSource = Callable[[int, int], torch.Tensor]
_BLOCK_ELEMENTS = 1 << 22


def rerank(q_g_dist: ArrayLike, q_q_dist: ArrayLike, g_g_dist: ArrayLike, k1: int = 20, k2: int = 6,
           lambda_value: float = 0.3, block_size: Optional[int] = None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Re-ranked ``[Q, G]`` distances from ``q_g_dist [Q, G]``, ``q_q_dist [Q, Q]`` and
    ``g_g_dist [G, G]`` (torch on any device, or numpy), computed in ``dtype`` on the device
    of ``q_g_dist``. See the module docstring for the algorithm and the memory it needs."""
    q_g = _as_tensor("q_g_dist", q_g_dist)
    device = q_g.device
    q_q = _as_tensor("q_q_dist", q_q_dist, device)
    g_g = _as_tensor("g_g_dist", g_g_dist, device)
    if q_g.dim() != 2:
        raise ValueError(f"Expected `q_g_dist` of shape [Q, G], got {list(q_g.shape)}")
    num_q, num_g = q_g.shape
    if q_q.shape != (num_q, num_q) or g_g.shape != (num_g, num_g):
        raise ValueError(f"Expected q_q_dist [{num_q}, {num_q}] and g_g_dist [{num_g}, {num_g}] to match "
                         f"q_g_dist {list(q_g.shape)}, got {list(q_q.shape)} and {list(g_g.shape)}")

    def rows(start: int, stop: int) -> torch.Tensor:
        parts = []
        if start < num_q:
            end = min(stop, num_q)
            parts.append(torch.cat([q_q[start:end], q_g[start:end]], dim=1))
        if stop > num_q:
            lo, hi = max(start, num_q) - num_q, stop - num_q
            parts.append(torch.cat([q_g[:, lo:hi].T, g_g[lo:hi]], dim=1))
        return torch.cat(parts, dim=0).to(dtype)

    return _rerank(rows, num_q, num_g, k1, k2, lambda_value, block_size, device, dtype)


def rerank_features(query_feats: ArrayLike, gallery_feats: ArrayLike, metric: str = "euclidean",
                    k1: int = 20, k2: int = 6, lambda_value: float = 0.3, block_size: Optional[int] = None,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Re-ranked ``[Q, G]`` distances from ``query_feats [Q, D]`` and ``gallery_feats [G, D]``;
    distance blocks are recomputed with :func:`pairwise_distance` (``metric``) as needed, so no
    N x N matrix exists at any time."""
    q = _as_tensor("query_feats", query_feats)
    g = _as_tensor("gallery_feats", gallery_feats, q.device)
    if q.dim() != 2 or g.dim() != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(f"Expected query_feats [Q, D] and gallery_feats [G, D], got {list(q.shape)} and {list(g.shape)}")
    feats = torch.cat([q, g.to(q.dtype)], dim=0).to(dtype)

    def rows(start: int, stop: int) -> torch.Tensor:
        return pairwise_distance(feats[start:stop], feats, metric=metric)

    return _rerank(rows, q.shape[0], g.shape[0], k1, k2, lambda_value, block_size, q.device, dtype)


def _check_params(k1: int, k2: int, lambda_value: float) -> None:
    for name, value in (("k1", k1), ("k2", k2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Expected `{name}` to be a positive integer, got {value!r}")
    if not 0.0 <= float(lambda_value) <= 1.0:
        raise ValueError(f"Expected `lambda_value` in [0, 1], got {lambda_value!r}")


def _normalized(raw: torch.Tensor) -> torch.Tensor:
    d2 = raw * raw
    return d2 / d2.max(dim=1, keepdim=True).values.clamp(min=torch.finfo(d2.dtype).tiny)


def _reciprocal(rank: torch.Tensor, k: int, rows: slice) -> "tuple[torch.Tensor, torch.Tensor]":
    """Forward lists ``[n, k]`` of ``rows`` and whether each entry has the row in its own list."""
    fwd = rank[rows, :k]
    back = rank[fwd, :k]
    own = torch.arange(rows.start, rows.stop, device=rank.device)
    return fwd, (back == own[:, None, None]).any(dim=2)


def _unique_rows(idx: torch.Tensor, val: Optional[torch.Tensor], sentinel: int
                 ) -> "tuple[torch.Tensor, Optional[torch.Tensor]]":
    """Per row, merge equal indices (summing their values, if any), sorted, padded with
    ``sentinel``, as narrow as the widest row."""
    idx, order = torch.sort(idx, dim=1, stable=True)
    new = torch.ones_like(idx, dtype=torch.bool)
    new[:, 1:] = idx[:, 1:] != idx[:, :-1]
    new &= idx != sentinel
    slot = torch.cumsum(new, dim=1) - 1
    width = max(int(new.sum(dim=1).max()), 1) if idx.shape[0] else 1
    out_idx = torch.full((idx.shape[0], width), sentinel, dtype=idx.dtype, device=idx.device)
    r = torch.arange(idx.shape[0], device=idx.device)[:, None].expand_as(idx)
    out_idx[r[new], slot[new]] = idx[new]
    if val is None:
        return out_idx, None
    live = idx != sentinel
    out_val = torch.zeros((idx.shape[0], width), dtype=val.dtype, device=val.device)
    out_val.index_put_((r[live], slot[live]), val.gather(1, order)[live], accumulate=True)
    return out_idx, out_val


def _pad_cat(parts: "list[torch.Tensor]", fill) -> torch.Tensor:
    width = max(p.shape[1] for p in parts)
    return torch.cat([torch.nn.functional.pad(p, (0, width - p.shape[1]), value=fill) for p in parts], dim=0)


def _rerank(rows: RowSource, num_q: int, num_g: int, k1: int, k2: int, lambda_value: float,
            block_size: Optional[int], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    _check_params(k1, k2, lambda_value)
    n = num_q + num_g
    if block_size is None:
        block_size = max(1, _BLOCK_ELEMENTS // max(n, 1))
    elif block_size < 1:
        raise ValueError(f"Expected `block_size` to be a positive integer, got {block_size}")
    kf, kh, kq = min(k1 + 1, n), min(int(round(k1 / 2)) + 1, n), min(k2, n)
    blocks = [slice(s, min(s + block_size, n)) for s in range(0, n, block_size)]

    # Pass 1: neighbour table (stable order, ties to the lower index).
    width = max(kf, kq)
    rank = torch.empty(n, width, dtype=torch.long, device=device)
    for b in blocks:
        rank[b] = torch.sort(_normalized(rows(b.start, b.stop)), dim=1, stable=True).indices[:, :width]

    # Expanded k-reciprocal sets, as padded index rows (sentinel n).
    half_fwd = rank[:, :kh]
    half_mask = torch.cat([_reciprocal(rank, kh, b)[1] for b in blocks], dim=0)
    exp_parts = []
    for b in blocks:
        fwd, mask = _reciprocal(rank, kf, b)
        cand, cand_mask = half_fwd[fwd], half_mask[fwd]                      # [c, kf, kh]
        in_r = ((cand[..., None] == fwd[:, None, None, :]) & mask[:, None, None, :]).any(dim=3)
        inter = (in_r & cand_mask).sum(dim=2).double()
        accept = mask & (inter > (2.0 / 3.0) * cand_mask.sum(dim=2).double())
        idx = torch.cat([torch.where(mask, fwd, n),
                         torch.where(accept[..., None] & cand_mask, cand, n).flatten(1)], dim=1)
        exp_parts.append(_unique_rows(idx, None, n)[0])
    exp_idx = _pad_cat(exp_parts, n)
    exp_live = exp_idx != n

    # Pass 2: Gaussian-kernel weights, and the query x gallery block of d.
    v_val = torch.zeros(exp_idx.shape, dtype=dtype, device=device)
    orig_qg = torch.empty(num_q, num_g, dtype=dtype, device=device)
    for b in blocks:
        d = _normalized(rows(b.start, b.stop))
        w = torch.exp(-d.gather(1, exp_idx[b].clamp(max=n - 1))) * exp_live[b]
        v_val[b] = w / w.sum(dim=1, keepdim=True)
        if b.start < num_q:
            orig_qg[b.start:min(b.stop, num_q)] = d[:min(b.stop, num_q) - b.start, num_q:]
    v_idx = exp_idx

    if k2 != 1:
        qe_idx, qe_val = [], []
        for b in blocks:
            nb = rank[b, :kq]                                               # [c, kq]
            idx, val = _unique_rows(v_idx[nb].flatten(1), v_val[nb].flatten(1), n)
            qe_idx.append(idx)
            qe_val.append(val / kq)
        v_idx, v_val = _pad_cat(qe_idx, n), _pad_cat(qe_val, 0.0)

    return _jaccard_final(v_idx, v_val, orig_qg, num_q, lambda_value, block_size)


def _jaccard_final(v_idx: torch.Tensor, v_val: torch.Tensor, orig_qg: torch.Tensor, num_q: int,
                   lambda_value: float, block_size: int) -> torch.Tensor:
    """Jaccard distance of query rows to gallery rows through an inverted (column) index of V."""
    n, num_g = v_idx.shape[0], orig_qg.shape[1]
    device = v_idx.device
    # Inverted index over the gallery rows only: entries sorted by column.
    g_rows = torch.arange(num_q, n, device=device)[:, None].expand(-1, v_idx.shape[1])
    live = v_idx[num_q:] != n
    cols, order = torch.sort(v_idx[num_q:][live], stable=True)
    ent_row = (g_rows[live] - num_q)[order]
    ent_val = v_val[num_q:][live][order]
    col_count = torch.bincount(cols, minlength=n)
    col_start = torch.cumsum(col_count, dim=0) - col_count

    out = torch.empty_like(orig_qg)
    for start in range(0, num_q, block_size):
        stop = min(start + block_size, num_q)
        q_live = v_idx[start:stop] != n
        q_row = torch.arange(stop - start, device=device)[:, None].expand_as(q_live)[q_live]
        q_col, q_val = v_idx[start:stop][q_live], v_val[start:stop][q_live]
        count = col_count[q_col]
        total = int(count.sum())
        first = torch.cumsum(count, dim=0) - count
        within = torch.arange(total, device=device) - torch.repeat_interleave(first, count)
        ent = torch.repeat_interleave(col_start[q_col], count) + within
        contrib = torch.minimum(torch.repeat_interleave(q_val, count), ent_val[ent])
        m = torch.zeros((stop - start) * num_g, dtype=orig_qg.dtype, device=device)
        m.index_add_(0, torch.repeat_interleave(q_row, count) * num_g + ent_row[ent], contrib)
        m = m.view(stop - start, num_g)
        jaccard = 1.0 - m / (2.0 - m)
        out[start:stop] = (1.0 - lambda_value) * jaccard + lambda_value * orig_qg[start:stop]
    return out
