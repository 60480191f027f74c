"""Validation pairs from CASIA-WebFace identities held out of training."""
import os
from itertools import combinations

import pytest

from amlfs.data import DataError, SplitMix64
from amlfs.data.face import FaceImages, face_validation_split, read_casia_webface
from amlfs.data.rng import STREAM_VALIDATION
from amlfs.fixtures.face import write_face_fixture


@pytest.fixture(scope="module")
def casia(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("face"))
    write_face_fixture(root, ids=20, per_id=4, lfw_names=4, folds=1, pairs_per_fold=1, height_px=16, width_px=16)
    return read_casia_webface(root)


def synthetic(sizes):
    """FaceImages without files: identity ``i`` (name ``id{i:03d}``) has ``sizes[i]`` images."""
    paths, labels = [], []
    for label, size in enumerate(sizes):
        paths += [f"id{label:03d}/{k}.jpg" for k in range(size)]
        labels += [label] * size
    return FaceImages(tuple(paths), tuple(labels), tuple(f"id{i:03d}" for i in range(len(sizes))))


def identity(path):
    return os.path.basename(os.path.dirname(path))


def test_held_out_identities_are_the_first_of_the_seeded_permutation(casia):
    split = face_validation_split(casia, 0.3, split_seed=7)
    order = SplitMix64(7, STREAM_VALIDATION).permutation(20)
    assert set(split.held_out.identities) == {casia.identities[i] for i in order[:6]}


def test_training_and_held_out_identities_are_disjoint_and_cover_the_set(casia):
    split = face_validation_split(casia, 0.3, split_seed=7)
    train_ids = {identity(p) for p in split.train.paths}
    held_ids = {identity(p) for p in split.held_out.paths}
    assert len(train_ids) == 14 and len(held_ids) == 6 and not train_ids & held_ids
    assert train_ids | held_ids == set(casia.identities)
    assert sorted(split.train.paths + split.held_out.paths) == sorted(casia.paths)
    paired = set(split.pairs.path_a) | set(split.pairs.path_b)
    assert paired <= set(split.held_out.paths) and not paired & set(split.train.paths)


def test_kept_identities_are_relabelled_from_zero_in_folder_order(casia):
    split = face_validation_split(casia, 0.3, split_seed=7)
    names = sorted({identity(p) for p in split.train.paths})
    assert list(split.train.identities) == names
    assert list(split.train.labels) == [names.index(identity(p)) for p in split.train.paths]


def test_the_split_is_deterministic_and_depends_on_the_seed(casia):
    a, b = face_validation_split(casia, 0.3, 7), face_validation_split(casia, 0.3, 7)
    assert a == b
    c = face_validation_split(casia, 0.3, 8)
    assert set(c.held_out.identities) != set(a.held_out.identities)


def check_pairs(split, folds, per_fold):
    pairs = split.pairs
    assert pairs.num_folds == folds and len(pairs) == 2 * folds * per_fold
    keys = set()
    for a, b, same in zip(pairs.path_a, pairs.path_b, pairs.same):
        assert a != b and (identity(a) == identity(b)) == same
        keys.add(frozenset((a, b)))
    assert len(keys) == len(pairs), "a pair was drawn twice"
    people = []
    for f in range(folds):
        rows = [i for i in range(len(pairs)) if pairs.fold[i] == f]
        assert [pairs.same[i] for i in rows] == [True] * per_fold + [False] * per_fold
        people.append({identity(p) for i in rows for p in (pairs.path_a[i], pairs.path_b[i])})
    for x, y in combinations(people, 2):
        assert not x & y, "folds share an identity"


def test_small_folds_take_every_same_pair(casia):
    # 6 held-out identities of 4 images, 3 folds of 2: 2 * C(4, 2) = 12 same pairs, 16 different per fold.
    split = face_validation_split(casia, 0.3, 7)
    check_pairs(split, folds=3, per_fold=12)


def test_large_folds_are_drawn_with_the_requested_count():
    # 3 folds of 4 identities of 10 images: 180 same and 600 different pairs per fold; 40 requested.
    split = face_validation_split(synthetic([10] * 24), 0.5, 3, folds=3, pairs_per_fold=40)
    check_pairs(split, folds=3, per_fold=40)


def test_pairs_per_fold_follows_the_smallest_fold():
    # Sizes differ: P is the fewest same or different pairs over the folds, computed here by hand.
    counts = [2, 3, 5, 2, 4, 6, 3, 2, 7]
    split = face_validation_split(synthetic(counts), 8 / 9, 11, folds=2, pairs_per_fold=100)
    held = SplitMix64(11, STREAM_VALIDATION).permutation(9)[:8]
    sizes = [[counts[label] for label in held[f::2]] for f in range(2)]
    same = [sum(n * (n - 1) // 2 for n in fold) for fold in sizes]
    different = [sum(fold[x] * fold[y] for x, y in combinations(range(len(fold)), 2)) for fold in sizes]
    check_pairs(split, folds=2, per_fold=min(same + different))


def test_impossible_splits_are_clear_errors(casia):
    with pytest.raises(DataError, match="valFraction`: a fraction of 0.01 of 20 identities holds out 0"):
        face_validation_split(casia, 0.01, 0)
    with pytest.raises(DataError, match="expected `folds` >= 2 .* 3 identities are held out"):
        face_validation_split(casia, 0.15, 0)
    with pytest.raises(DataError, match="4 folds need 8 held-out identities"):
        face_validation_split(casia, 0.3, 0, folds=4)
    with pytest.raises(DataError, match="expected `pairs_per_fold` >= 1"):
        face_validation_split(casia, 0.3, 0, pairs_per_fold=0)
    with pytest.raises(DataError, match="no held-out identity of fold 0 has two images"):
        face_validation_split(synthetic([1] * 10), 0.5, 0, folds=2)
