import numpy as np
import pytest
import torch

from amlfs.eval import pairwise_distance, rerank, rerank_features

from .reference import loop_rerank


def tied_blocks(seed, num_q, num_g, levels=4):
    """A symmetric integer distance matrix with zero diagonal (many ties), split into blocks."""
    rng = np.random.default_rng(seed)
    n = num_q + num_g
    full = rng.integers(1, levels + 1, size=(n, n)).astype(np.float64)
    full = np.triu(full, 1)
    full = full + full.T
    return full[:num_q, num_q:], full[:num_q, :num_q], full[num_q:, num_q:]


@pytest.mark.parametrize("seed,num_q,num_g,k1,k2,lam", [
    (0, 10, 40, 20, 6, 0.3),
    (1, 12, 45, 5, 1, 0.3),      # odd k1: half = round(2.5) = 2; no query expansion
    (2, 8, 30, 7, 3, 0.0),
    (3, 15, 40, 4, 2, 1.0),
    (4, 5, 25, 40, 6, 0.5),      # k1 + 1 > N
])
def test_matches_loop_reference_with_ties(seed, num_q, num_g, k1, k2, lam):
    q_g, q_q, g_g = tied_blocks(seed, num_q, num_g)
    want = loop_rerank(q_g, q_q, g_g, k1, k2, lam)
    got = rerank(torch.from_numpy(q_g), torch.from_numpy(q_q), torch.from_numpy(g_g), k1=k1, k2=k2,
                 lambda_value=lam, block_size=7, dtype=torch.float64)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("block_size", [None, 5])
def test_features_path_float32_matches_reference(block_size):
    rng = np.random.default_rng(7)
    centers = rng.normal(size=(8, 32))
    feats = centers[rng.integers(0, 8, size=60)] + 0.5 * rng.normal(size=(60, 32))
    q, g = feats[:15], feats[15:]
    dist = lambda a, b: np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))  # noqa: E731
    want = loop_rerank(dist(q, g), dist(q, q), dist(g, g), 20, 6, 0.3)
    got = rerank_features(torch.from_numpy(q).float(), torch.from_numpy(g).float(), block_size=block_size)
    assert got.dtype == torch.float32 and got.shape == (15, 45)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-5)
    blocks = rerank(pairwise_distance(q, g), pairwise_distance(q, q), pairwise_distance(g, g))
    np.testing.assert_allclose(blocks.numpy(), want, rtol=0, atol=1e-5)


def test_bad_inputs_are_named():
    q_g, q_q, g_g = tied_blocks(0, 3, 5)
    with pytest.raises(ValueError, match="g_g_dist \\[5, 5\\]"):
        rerank(q_g, q_q, g_g[:4, :4])
    with pytest.raises(ValueError, match="`k1`"):
        rerank(q_g, q_q, g_g, k1=0)
    with pytest.raises(ValueError, match="`lambda_value`"):
        rerank(q_g, q_q, g_g, lambda_value=1.5)
