"""The validation split held out of the training identities."""
import pytest

from amlfs.data import DataError
from amlfs.data.reid import ReidImages, read_reid, reid_validation_split, relabel
from amlfs.fixtures.reid import write_reid_fixture


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("market"))
    write_reid_fixture(root, "market", ids=10, per_id=6)
    return read_reid(root, "market1501", strict=False)


def test_held_out_ids_are_disjoint_from_training_and_cover_it(data):
    split = reid_validation_split(data.train, 0.3, seed=7)
    train_ids = set(split.train.images.pids)
    held_ids = set(split.query.pids) | set(split.gallery.pids)
    assert len(held_ids) == 3 and len(train_ids) == 7
    assert not train_ids & held_ids
    assert train_ids | held_ids == set(data.train.images.pids)
    assert len(split.train) + len(split.query) + len(split.gallery) == len(data.train)
    assert not set(split.query.paths) & set(split.gallery.paths)


def test_nothing_comes_from_the_test_split(data):
    split = reid_validation_split(data.train, 0.3, seed=7)
    used = set(split.train.images.paths) | set(split.query.paths) | set(split.gallery.paths)
    assert used == set(data.train.images.paths)
    assert not used & (set(data.query.paths) | set(data.gallery.paths))


def test_kept_ids_are_relabelled_from_zero(data):
    split = reid_validation_split(data.train, 0.3, seed=7)
    originals = sorted(set(split.train.images.pids))
    assert split.train.num_classes == 7
    assert list(split.train.labels) == [originals.index(pid) for pid in split.train.images.pids]


def test_one_query_per_id_and_camera_with_a_cross_camera_match(data):
    split = reid_validation_split(data.train, 0.3, seed=7)
    pairs = list(zip(split.query.pids, split.query.camids))
    assert len(pairs) == len(set(pairs))
    # The fixture gives each training id 3 images in each of 2 cameras: 2 queries per id.
    assert len(pairs) == 6
    gallery = set(zip(split.gallery.pids, split.gallery.camids))
    for pid, camid in pairs:
        assert any(g_pid == pid and g_cam != camid for g_pid, g_cam in gallery)


def test_deterministic_for_a_seed_and_different_across_seeds(data):
    first = reid_validation_split(data.train, 0.3, seed=7)
    assert first == reid_validation_split(data.train, 0.3, seed=7)
    held = {seed: frozenset(reid_validation_split(data.train, 0.3, seed=seed).query.pids) for seed in range(8)}
    assert len(set(held.values())) > 1


def test_fractions_leaving_an_empty_side_are_rejected(data):
    for fraction in (0.0, 1.0):
        with pytest.raises(DataError, match="at least one identity on each side"):
            reid_validation_split(data.train, fraction, seed=0)


def test_single_camera_ids_give_an_empty_query_error():
    images = ReidImages(tuple(f"{i}.jpg" for i in range(6)), (1, 1, 2, 2, 3, 3), (0, 0, 1, 1, 2, 2))
    with pytest.raises(DataError, match="validation query is empty"):
        reid_validation_split(relabel(images), 0.5, seed=0)
