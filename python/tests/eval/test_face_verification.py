import json
import math
import re

import numpy as np
import pytest
import torch

from amlfs.eval.face_verification import (FLIP_COMBINATIONS, VerificationResult, accuracy_at_threshold,
                                          best_threshold, combine_flip, contiguous_fold_ids,
                                          evaluate_verification, far_key, pair_cosine_similarity, tar_at_far)

from .face_reference import brute_tar_at_far, loop_best_threshold, loop_k_fold


def lfw_like(seed, pairs_per_fold=60, num_folds=10, levels=None):
    """Folds of half same, half different pairs in file order, as LFW's pairs.txt."""
    rng = np.random.default_rng(seed)
    same = np.tile(np.repeat([True, False], pairs_per_fold // 2), num_folds)
    scores = rng.normal(size=same.shape[0]) + 1.2 * same
    if levels is not None:  # coarse scores: many ties across classes
        scores = np.round(scores * levels) / levels
    return scores, same, contiguous_fold_ids(same.shape[0], num_folds)


def test_lfw_fold_ids_are_blocks_of_600():
    folds = contiguous_fold_ids(6000)
    assert folds.tolist() == [i // 600 for i in range(6000)]
    assert contiguous_fold_ids(7, 3).tolist() == [0, 0, 0, 1, 1, 2, 2]


def test_separable_scores_give_accuracy_one_and_thresholds_between_classes():
    scores, same, folds = lfw_like(0)
    scores = np.where(same, 0.6 + 0.3 * np.abs(scores), 0.2 - 0.3 * np.abs(scores))
    got = evaluate_verification(scores, same, folds)
    assert got.accuracy == 1.0 and got.accuracy_std == 0.0 and got.num_folds == 10
    for k, t in enumerate(got.thresholds):
        train = folds != k
        assert scores[train & ~same].max() < t < scores[train & same].min()
        assert t == pytest.approx((scores[train & ~same].max() + scores[train & same].min()) / 2)


def test_hand_computed_three_folds():
    # Fold 0: (0.9 same, 0.1 diff); fold 1: (0.4 same, 0.5 diff); fold 2: (0.8 same, 0.3 diff).
    scores = [0.9, 0.1, 0.4, 0.5, 0.8, 0.3]
    same = [True, False, True, False, True, False]
    got = evaluate_verification(scores, same, [0, 0, 1, 1, 2, 2], fars=())
    # Fold 0 trains on 0.3 0.4 0.5 0.8 (d s d s): best splits 0.35 and 0.65 (3/4); smallest wins.
    # Fold 1 trains on 0.1 0.3 | 0.8 0.9: 0.55. Fold 2 trains on 0.1 0.4 0.5 0.9 (d s d s): 0.25.
    assert got.thresholds == pytest.approx((0.35, 0.55, 0.25))
    # Fold 1 at 0.55 rejects both; fold 2 at 0.25 accepts both (0.3 is a false accept).
    assert got.fold_accuracies == (1.0, 0.5, 0.5)
    assert got.accuracy == pytest.approx(2 / 3)
    assert got.accuracy_std == pytest.approx(math.sqrt(2) / 6)  # population std of (1, 1/2, 1/2)
    assert got.tar_at_far == {}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("levels", [None, 4])
def test_k_fold_matches_loop_reference(seed, levels):
    scores, same, folds = lfw_like(seed, pairs_per_fold=40, levels=levels)
    accs, thresholds, mean, std = loop_k_fold(scores.tolist(), same.tolist(), folds.tolist())
    got = evaluate_verification(scores, same, folds)
    assert got.fold_accuracies == pytest.approx(accs, abs=1e-15)
    assert got.thresholds == pytest.approx(thresholds, abs=1e-15)
    assert got.accuracy == pytest.approx(mean, abs=1e-12)
    assert got.accuracy_std == pytest.approx(std, abs=1e-12)
    assert 0.6 < got.accuracy < 1.0  # the synthetic problem is neither trivial nor random


def test_uneven_folds_and_counts_and_torch_inputs():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=53)
    same = rng.random(53) < 0.3
    folds = rng.integers(0, 4, size=53)
    accs, thresholds, mean, _ = loop_k_fold(scores.tolist(), same.tolist(), folds.tolist())
    got = evaluate_verification(torch.from_numpy(scores).float(), torch.from_numpy(same), torch.from_numpy(folds))
    ref32 = loop_k_fold(torch.from_numpy(scores).float().double().tolist(), same.tolist(), folds.tolist())
    assert got.fold_accuracies == pytest.approx(ref32[0])
    assert got.thresholds == pytest.approx(ref32[1])
    assert evaluate_verification(scores, same, folds).accuracy == pytest.approx(mean)


def test_best_threshold_and_accuracy_at_threshold_match_loops():
    scores, same, _ = lfw_like(7, levels=3)
    t, acc = best_threshold(scores, same)
    assert (t, acc) == pytest.approx(loop_best_threshold(scores.tolist(), same.tolist()))
    assert accuracy_at_threshold(scores, same, t) == pytest.approx(acc)
    # A score equal to the threshold is rejected.
    assert accuracy_at_threshold([0.5, 0.5], [True, False], 0.5) == 0.5
    assert accuracy_at_threshold([0.5, 0.5], [True, False], 0.4) == 0.5
    # All same: the smallest candidate accepts everything.
    t, acc = best_threshold([0.2, 0.7], [True, True])
    assert acc == 1.0 and t < 0.2


def test_adjacent_float_scores_are_still_split():
    low = 0.3
    high = float(np.nextafter(low, 1.0))
    t, acc = best_threshold([low, high], [False, True])
    assert acc == 1.0 and low <= t < high


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("far", [1e-3, 0.01, 0.1, 0.25, 1.0])
def test_tar_at_far_matches_brute_force(seed, far):
    scores, same, _ = lfw_like(seed, pairs_per_fold=80, levels=None if seed % 2 else 5)
    tar, t, fa = brute_tar_at_far(scores.tolist(), same.tolist(), far)
    got = tar_at_far(scores, same, far)
    assert (got.tar, got.threshold, got.achieved_far) == pytest.approx((tar, t, fa))
    assert got.achieved_far <= far


def test_tar_at_far_ties_are_rejected():
    # Negatives 0.9, 0.5, 0.5, 0.1; FAR <= 0.25 allows one: threshold 0.5 rejects both tied ones.
    got = tar_at_far([0.9, 0.5, 0.5, 0.1, 0.5, 0.7], [False, False, False, False, True, True], 0.25)
    assert got.threshold == 0.5 and got.achieved_far == 0.25 and got.tar == 0.5
    got = tar_at_far([0.9, 0.5, 0.5, 0.1, 0.5, 0.7], [False, False, False, False, True, True], 0.5)
    assert got.threshold == 0.5 and got.achieved_far == 0.25  # ties: below the allowed 0.5
    assert tar_at_far([0.1, 0.2, 0.3], [True, True, False], 0.29).tar == 0.0


def test_as_dict_names_and_json():
    scores, same, folds = lfw_like(1)
    got = evaluate_verification(scores, same, folds, fars=(1e-3, 1e-2), feature_combination=FLIP_COMBINATIONS["concat"])
    d = json.loads(json.dumps(got.as_dict()))
    assert set(d) == {"accuracy", "accuracyStd", "foldAccuracies", "thresholds", "numFolds", "numPairs", "numSame",
                      "stdVariant", "thresholdRule", "tarAtFar1e-3", "tarAtFar1e-2", "featureCombination"}
    assert d["featureCombination"] == "concat(image, flip)" and d["numPairs"] == 600 and d["numSame"] == 300
    assert d["tarAtFar1e-2"] == tar_at_far(scores, same, 0.01).tar
    assert far_key(1e-4) == "tarAtFar1e-4"
    assert isinstance(got, VerificationResult)


def test_flip_combination_and_pair_cosine():
    rng = np.random.default_rng(0)
    a, fa, b, fb = (torch.from_numpy(rng.normal(size=(5, 3))) for _ in range(4))
    cat = combine_flip(a, fa)
    assert cat.shape == (5, 6) and torch.equal(cat[:, 3:], fa)
    assert torch.equal(combine_flip(a, fa, mode="sum"), a + fa)
    got = pair_cosine_similarity(combine_flip(a, fa), combine_flip(b, fb))
    for i in range(5):
        u, v = cat[i].tolist(), combine_flip(b, fb)[i].tolist()
        ref = sum(x * y for x, y in zip(u, v)) / math.sqrt(sum(x * x for x in u) * sum(y * y for y in v))
        assert float(got[i]) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("args, message", [
    (([0.1, 0.2], [True, False], [0, 0]), "k >= 2"),
    (([0.1, 0.2, 0.3], [True, False, True], [0, 2, 2]), "every fold non-empty"),
    (([0.1, 0.2], [True, False], [0, -1]), "fold"),
    (([0.1, 0.2], [True, False], [0.0, 1.0]), "integers"),
    (([0.1, 0.2], [True, False], [0, 1, 1]), "`fold` of shape [2]"),
    (([0.1, 0.2], [True], [0, 1]), "`same` of shape [2]"),
    (([0.1, float("nan")], [True, False], [0, 1]), "NaN"),
    (([], [], []), "`scores` of shape [P]"),
    (([0.1, 0.2], [2, 0], [0, 1]), "booleans"),
])
def test_bad_input_names_the_field(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate_verification(*args)


def test_bad_far_and_one_class():
    with pytest.raises(ValueError, match="far"):
        tar_at_far([0.1, 0.2], [True, False], 0.0)
    with pytest.raises(ValueError, match="both same and different"):
        tar_at_far([0.1, 0.2], [True, True], 0.1)
    with pytest.raises(ValueError, match="num_folds"):
        contiguous_fold_ids(10, 1)
    with pytest.raises(ValueError, match="mode"):
        combine_flip(torch.zeros(2, 3), torch.zeros(2, 3), mode="max")

