"""MegaFace-style face identification: rank-1 against N distractors.

Protocol of the MegaFace challenge 1 (Kemelmacher-Shlizerman et al., "The MegaFace
Benchmark: 1 Million Faces for Recognition at Scale", CVPR 2016, Sec. 4; devkit
``FuseResults``): the probe set (FaceScrub, 80 identities) has several images per identity.
For every *ordered* pair ``(a, b)`` of distinct images of the same identity, ``b`` is put in
the gallery with the ``N`` distractors and ``a`` is the query. The pair is a rank-1 hit when
``b`` is closer to ``a`` than every distractor; other images of ``a``'s identity are not in
that gallery. ``rank1 = hits / pairs``, with ``pairs = sum_id n_id * (n_id - 1)``.

What is implemented here:

- ``metric="cosine"``: similarity of L2-normalised features (an all-zero feature gets 0);
  ``metric="euclidean"``: L2 distance, ranked through ``2 a.x - |x|^2`` (the same order per
  query as ``-|a - x|``, without forming the differences).
- A **tie** between ``b`` and the best distractor counts as a **miss** (conservative).
- Memory: the distractors are scored ``chunk_size`` at a time (default: about 16M scores per
  ``[P, chunk]`` block, 64 MiB in float32) and only the best distractor score per query is kept,
  so the extra memory is one block, not ``P x N``. Distractors may be one ``[N, D]`` array
  (CPU, moved to ``device`` a chunk at a time) or an iterable of ``[n_i, D]`` chunks (e.g. from
  :func:`amlfs.eval.megaface_features.iter_feature_chunks`), so they need not fit on the device.
- Scores are computed in the probes' floating dtype (float32 features stay float32).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

import numpy as np
import torch

ArrayLike = Union[torch.Tensor, np.ndarray]
METRICS = ("cosine", "euclidean")
TIE_RULE = "a tie with a distractor is a miss"
# Scores per [rows, chunk] block: 2^24 float32 = 64 MiB.
_BLOCK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class IdentificationResult:
    """``rank1 = num_hits / num_pairs`` over the ordered same-identity probe pairs."""

    rank1: float
    num_hits: int
    num_pairs: int
    num_probe_images: int
    num_probe_identities: int
    num_distractors: int
    metric: str
    tie_rule: str = TIE_RULE

    def as_dict(self) -> dict:
        """JSON-ready: ``rank1``, ``numHits``, ``numPairs``, ``numProbeImages``,
        ``numProbeIdentities`` (those with >= 2 images), ``numDistractors``, ``metric``, ``tieRule``."""
        return {"rank1": self.rank1, "numHits": self.num_hits, "numPairs": self.num_pairs,
                "numProbeImages": self.num_probe_images, "numProbeIdentities": self.num_probe_identities,
                "numDistractors": self.num_distractors, "metric": self.metric, "tieRule": self.tie_rule}


def _as_tensor(name: str, value: ArrayLike) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, torch.Tensor):
        return value
    raise TypeError(f"Expected `{name}` to be a torch.Tensor or numpy.ndarray, got {type(value).__name__}")


def _identity_codes(probe_ids, num: int) -> torch.Tensor:
    ids = probe_ids.cpu().numpy() if isinstance(probe_ids, torch.Tensor) else np.asarray(probe_ids)
    if ids.shape != (num,):
        raise ValueError(f"Expected `probe_ids` of shape [{num}] (one identity per probe image), got {list(ids.shape)}")
    if ids.dtype.kind == "f":
        raise ValueError(f"Expected `probe_ids` to hold integers or strings, got dtype {ids.dtype}")
    return torch.from_numpy(np.unique(ids, return_inverse=True)[1].reshape(-1).astype(np.int64))


class _Scorer:
    """Scores of queries against candidates; larger is closer for both metrics."""

    def __init__(self, metric: str):
        if metric not in METRICS:
            raise ValueError(f"Expected `metric` to be one of {METRICS}, got {metric!r}")
        self.metric = metric

    def prepare(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(feats, dim=1) if self.metric == "cosine" else feats

    def __call__(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        if self.metric == "cosine":
            return queries @ candidates.T
        # 2 a.x - |x|^2 = |a|^2 - |a - x|^2: the same order per query as -|a - x|.
        return torch.addmm((candidates * candidates).sum(dim=1)[None, :], queries, candidates.T,
                           beta=-1.0, alpha=2.0)


def _distractor_chunks(distractors, chunk_rows: int) -> Iterable[torch.Tensor]:
    if isinstance(distractors, (torch.Tensor, np.ndarray)):
        d = _as_tensor("distractors", distractors)
        if d.dim() != 2:
            raise ValueError(f"Expected `distractors` of shape [N, D], got {list(d.shape)}")
        for start in range(0, d.shape[0], chunk_rows):
            yield d[start:start + chunk_rows]
    else:
        for i, chunk in enumerate(distractors):
            chunk = _as_tensor(f"distractors chunk {i}", chunk)
            for start in range(0, chunk.shape[0], chunk_rows):
                yield chunk[start:start + chunk_rows]


def best_distractor_scores(probe_feats: ArrayLike, distractors, metric: str = "cosine",
                           chunk_size: Optional[int] = None, device: Optional[Union[str, torch.device]] = None):
    """``([P] best distractor score per probe, N)`` for ``probe_feats [P, D]`` against
    ``distractors`` (``[N, D]`` or an iterable of ``[n_i, D]`` chunks), ``chunk_size``
    distractors at a time. Scores as :class:`_Scorer` (larger is closer)."""
    scorer = _Scorer(metric)
    probes = _as_tensor("probe_feats", probe_feats)
    if probes.dim() != 2 or probes.shape[0] == 0:
        raise ValueError(f"Expected `probe_feats` of shape [P, D] with P >= 1, got {list(probes.shape)}")
    device = torch.device(device) if device is not None else probes.device
    probes = probes.to(device)
    if not probes.is_floating_point():
        probes = probes.float()
    if not torch.isfinite(probes).all():
        raise ValueError("`probe_feats` contains NaN or Inf")
    probes = scorer.prepare(probes)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"Expected `chunk_size` to be a positive integer, got {chunk_size}")
    rows = chunk_size or max(1, _BLOCK_ELEMENTS // probes.shape[0])
    best = torch.full((probes.shape[0],), -torch.inf, dtype=probes.dtype, device=device)
    seen = 0
    for chunk in _distractor_chunks(distractors, rows):
        if chunk.dim() != 2 or chunk.shape[1] != probes.shape[1]:
            raise ValueError(f"Expected distractor features of shape [n, {probes.shape[1]}] (the probes' dimension), "
                             f"got {list(chunk.shape)} at distractor {seen}")
        block_best = scorer(probes, scorer.prepare(chunk.to(device=device, dtype=probes.dtype))).amax(dim=1)
        if torch.isnan(block_best).any():
            raise ValueError(f"Distractor features {seen}..{seen + chunk.shape[0] - 1} contain NaN")
        torch.maximum(best, block_best, out=best)
        seen += chunk.shape[0]
    if seen == 0:
        raise ValueError("Expected at least one distractor, got none")
    return best, seen


def identification_rank1(probe_feats: ArrayLike, probe_ids: Union[ArrayLike, Sequence], distractors,
                         metric: str = "cosine", chunk_size: Optional[int] = None,
                         device: Optional[Union[str, torch.device]] = None) -> IdentificationResult:
    """MegaFace rank-1 identification (module docstring).

    ``probe_feats [P, D]`` float features of the probe images, ``probe_ids [P]`` their
    identities (ints or strings; identities with one image contribute no pair),
    ``distractors [N, D]`` or an iterable of ``[n_i, D]`` chunks. ``device``: where to compute
    (default: the probes' device); ``chunk_size``: distractors per block.
    """
    best, num_distractors = best_distractor_scores(probe_feats, distractors, metric, chunk_size, device)
    scorer = _Scorer(metric)
    probes = _as_tensor("probe_feats", probe_feats).to(device=best.device, dtype=best.dtype)
    probes = scorer.prepare(probes)
    num = probes.shape[0]
    codes = _identity_codes(probe_ids, num).to(best.device)
    hits = pairs = 0
    step = max(1, _BLOCK_ELEMENTS // num)
    for start in range(0, num, step):
        rows = torch.arange(start, min(start + step, num), device=best.device)
        # Gallery candidates b of each query a: same identity, not a itself.
        candidate = (codes[rows, None] == codes[None, :]) & (rows[:, None] != torch.arange(num, device=best.device)[None, :])
        win = scorer(probes[rows], probes) > best[rows, None]
        hits += int((win & candidate).sum())
        pairs += int(candidate.sum())
    if pairs == 0:
        raise ValueError(f"No probe identity has two images among {num} probes; rank-1 is undefined")
    counts = torch.bincount(codes.cpu())
    return IdentificationResult(rank1=hits / pairs, num_hits=hits, num_pairs=pairs, num_probe_images=num,
                                num_probe_identities=int((counts >= 2).sum()), num_distractors=num_distractors,
                                metric=metric)
