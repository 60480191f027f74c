"""Readable loop references for the re-ID metrics and k-reciprocal re-ranking (tests only)."""
import numpy as np


def loop_evaluate_reid(dist, q_pids, g_pids, q_camids, g_camids, max_rank):
    """Per query: sort the gallery by (distance, index), drop same pid+camera and junk, score."""
    num_q, num_g = len(q_pids), len(g_pids)
    cmc_counts = [0] * max_rank
    aps = []
    for i in range(num_q):
        order = sorted(range(num_g), key=lambda j: (float(dist[i][j]), j))
        kept = [j for j in order
                if g_pids[j] != -1 and not (g_pids[j] == q_pids[i] and g_camids[j] == q_camids[i])]
        relevant = [g_pids[j] == q_pids[i] for j in kept]
        if not any(relevant):
            continue
        first = relevant.index(True)
        for k in range(max_rank):
            if first <= k:
                cmc_counts[k] += 1
        hits, precisions = 0, []
        for position, is_rel in enumerate(relevant, start=1):
            if is_rel:
                hits += 1
                precisions.append(hits / position)
        aps.append(sum(precisions) / len(precisions))
    return [c / len(aps) for c in cmc_counts], sum(aps) / len(aps), len(aps)


def loop_rerank(q_g, q_q, g_g, k1, k2, lambda_value):
    """The published algorithm, one item at a time, in float64 numpy."""
    num_q = q_g.shape[0]
    d = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(np.float64) ** 2
    d = d / d.max(axis=1, keepdims=True)
    n = d.shape[0]
    rank = np.argsort(d, axis=1, kind="stable")

    def reciprocal(i, k):
        return [c for c in rank[i, :k + 1] if i in rank[c, :k + 1]]

    half = int(np.around(k1 / 2))
    v = np.zeros((n, n))
    for i in range(n):
        r = reciprocal(i, k1)
        expanded = set(r)
        for c in r:
            rc = reciprocal(c, half)
            if len(set(rc) & set(r)) > 2.0 / 3.0 * len(rc):
                expanded |= set(rc)
        idx = sorted(expanded)
        w = np.exp(-d[i, idx])
        v[i, idx] = w / w.sum()
    if k2 != 1:
        v = np.stack([v[rank[i, :k2]].mean(axis=0) for i in range(n)])
    jaccard = np.zeros((num_q, n - num_q))
    for i in range(num_q):
        for g in range(n - num_q):
            a, b = v[i], v[num_q + g]
            jaccard[i, g] = 1.0 - np.minimum(a, b).sum() / np.maximum(a, b).sum()
    return (1.0 - lambda_value) * jaccard + lambda_value * d[:num_q, num_q:]
