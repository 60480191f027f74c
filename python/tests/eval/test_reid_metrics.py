import numpy as np
import pytest
import torch

from amlfs.eval import ReidMetrics, evaluate_reid, pairwise_distance

from .reference import loop_evaluate_reid


def random_case(seed, num_q=40, num_g=120, num_pids=12, levels=6):
    """Integer distances (many ties), distractors (pid 0), junk (-1), unmatched queries."""
    rng = np.random.default_rng(seed)
    dist = rng.integers(0, levels, size=(num_q, num_g)).astype(np.float32)
    g_pids = rng.integers(0, num_pids, size=num_g)
    g_pids[rng.random(num_g) < 0.1] = -1
    q_pids = rng.integers(1, num_pids, size=num_q)
    q_pids[: num_q // 8] = 1000 + np.arange(num_q // 8)  # no gallery match at all
    q_camids = rng.integers(0, 3, size=num_q)
    g_camids = rng.integers(0, 3, size=num_g)
    return dist, q_pids, g_pids, q_camids, g_camids


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("chunk_size", [None, 7])
def test_matches_loop_reference_with_ties(seed, chunk_size):
    case = random_case(seed)
    cmc, mean_ap, num_valid = loop_evaluate_reid(*case, max_rank=10)
    got = evaluate_reid(*case, max_rank=10, chunk_size=chunk_size)
    assert got.num_valid_queries == num_valid
    assert got.num_queries == case[0].shape[0] > num_valid
    np.testing.assert_allclose(got.cmc.numpy(), cmc, rtol=0, atol=1e-12)
    assert got.mAP == pytest.approx(mean_ap, abs=1e-12)
    assert got.ap_variant == "non-interpolated"
    assert (got.rank1, got.rank5, got.rank10) == (got.cmc[0], got.cmc[4], got.cmc[9])


def test_torch_and_numpy_inputs_agree_and_continuous_distances():
    dist, *ids = random_case(11, num_q=25, num_g=300, num_pids=30)
    dist = dist + np.random.default_rng(0).random(dist.shape).astype(np.float32)
    ref = loop_evaluate_reid(dist, *ids, max_rank=20)
    from_numpy = evaluate_reid(dist, *ids, max_rank=20)
    from_torch = evaluate_reid(torch.from_numpy(dist).double(), *[torch.from_numpy(x) for x in ids], max_rank=20)
    for got in (from_numpy, from_torch):
        np.testing.assert_allclose(got.cmc.numpy(), ref[0], atol=1e-12)
        assert got.mAP == pytest.approx(ref[1], abs=1e-12)


def test_tie_order_is_gallery_index():
    # Both gallery items at distance 0; the match has the higher index, so it ranks second.
    got = evaluate_reid(np.zeros((1, 2)), [5], [0, 5], [0], [1, 1], max_rank=2)
    assert got.cmc.tolist() == [0.0, 1.0]
    assert got.mAP == pytest.approx(0.5)


def test_same_camera_match_and_junk_are_removed_distractor_kept():
    # Gallery: same pid+cam (removed), junk (removed), distractor, true match.
    got = evaluate_reid(np.array([[0.0, 0.1, 0.2, 0.3]]), [7], [7, -1, 0, 7], [0], [0, 1, 1, 2], max_rank=3)
    assert got.cmc.tolist() == [0.0, 1.0, 1.0]
    assert got.mAP == pytest.approx(0.5)


def test_max_rank_past_gallery_size_stays_flat():
    got = evaluate_reid(np.array([[0.3, 0.1]]), [1], [1, 2], [0], [1, 1], max_rank=4)
    assert got.cmc.tolist() == [0.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="rank in \\[1, 4\\]"):
        got.rank(5)


def test_no_valid_query_and_bad_inputs_are_named():
    with pytest.raises(ValueError, match="No query out of 1"):
        evaluate_reid(np.zeros((1, 2)), [3], [3, 4], [0], [0, 1])
    with pytest.raises(ValueError, match="`g_pids` of shape \\[2\\]"):
        evaluate_reid(np.zeros((1, 2)), [3], [3], [0], [0, 1])
    with pytest.raises(ValueError, match="`max_rank`"):
        evaluate_reid(np.zeros((1, 2)), [3], [3, 4], [0], [1, 1], max_rank=0)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_reid(np.full((1, 2), np.nan), [3], [3, 4], [0], [1, 1])
    with pytest.raises(TypeError, match="`distmat`"):
        evaluate_reid([[0.0, 1.0]], [3], [3, 4], [0], [1, 1])


def test_result_is_a_frozen_record():
    got = evaluate_reid(np.array([[0.1, 0.2]]), [1], [1, 2], [0], [1, 1], max_rank=1)
    assert isinstance(got, ReidMetrics)
    assert got.as_dict() == {"mAP": 1.0, "num_valid_queries": 1, "num_queries": 1,
                             "ap_variant": "non-interpolated", "rank1": 1.0}


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_pairwise_distance_matches_loops(metric):
    rng = np.random.default_rng(3)
    q, g = rng.normal(size=(9, 16)), rng.normal(size=(13, 16))
    got = pairwise_distance(torch.from_numpy(q), torch.from_numpy(g), metric=metric, chunk_size=4).numpy()
    for i in range(9):
        for j in range(13):
            if metric == "cosine":
                want = 1.0 - q[i] @ g[j] / (np.linalg.norm(q[i]) * np.linalg.norm(g[j]))
            else:
                want = float(((q[i] - g[j]) ** 2).sum())
                want = want if metric == "sqeuclidean" else want ** 0.5
            assert got[i, j] == pytest.approx(want, abs=1e-9)
    with pytest.raises(ValueError, match="`metric`"):
        pairwise_distance(q, g, metric="manhattan")
