"""Datasets: seeded splits, exact label noise, the CIFAR-10 binary reader and its fixture generator."""
import collections
import os

import numpy as np
import pytest
import torch

from amlfs.data import (
    DataError,
    SplitMix64,
    corrupt_labels,
    dataset_kinds,
    load_dataset,
    round_half_up,
    stratified_holdout,
)
from amlfs.data.cifar10 import RECORD_BYTES, TEST_FILE, TRAIN_FILES, read_cifar10
from amlfs.data.transforms import normalize, random_crop_flip
from amlfs.fixtures.cifar10 import main as fixture_main


def ids(part):
    return set(part.source_index.tolist())


# ---- generator ------------------------------------------------------------------------------


def test_splitmix64_matches_the_reference_sequence():
    # SplitMix64 from state 0 (Vigna's splitmix64.c): first outputs.
    rng = SplitMix64(0, 0)
    assert [rng.next() for _ in range(3)] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_permutations_are_seeded_and_streams_independent():
    a = SplitMix64(7, 1).permutation(1000)
    assert sorted(a) == list(range(1000))
    assert a == SplitMix64(7, 1).permutation(1000)
    assert a != SplitMix64(7, 2).permutation(1000) and a != SplitMix64(8, 1).permutation(1000)
    rng = SplitMix64(1, 1)
    draws = [rng.below(3) for _ in range(3000)]
    assert set(draws) == {0, 1, 2} and min(collections.Counter(draws).values()) > 900
    with pytest.raises(ValueError, match="seed"):
        SplitMix64(-1)


def test_round_half_up():
    assert [round_half_up(x) for x in (0.5, 1.5, 2.5, 2.4999, 359.4)] == [1, 2, 3, 2, 359]


# ---- splits ---------------------------------------------------------------------------------


def test_stratified_holdout_is_exact_disjoint_and_proportional():
    labels = [i % 3 for i in range(100)] + [3] * 7
    kept, held = stratified_holdout(labels, 0.25, seed=5, stream=2, what="test")
    assert len(held) == round_half_up(0.25 * 107) and len(kept) + len(held) == 107
    assert not set(kept) & set(held) and sorted(kept + held) == list(range(107))
    counts = collections.Counter(labels[i] for i in held)
    for label, total in collections.Counter(labels).items():
        assert abs(counts[label] - 0.25 * total) < 1
    assert (kept, held) == stratified_holdout(labels, 0.25, seed=5, stream=2, what="test")
    assert held != stratified_holdout(labels, 0.25, seed=6, stream=2, what="test")[1]
    with pytest.raises(DataError, match="valFraction"):
        stratified_holdout([0, 1], 0.1, 0, 2, "dataset.splits.valFraction")


def test_digits_splits():
    data = load_dataset({"kind": "digits", "splits": {"valFraction": 0.1, "splitSeed": 0}})
    assert data.sizes() == {"train": 1294, "val": 144, "test": 359}
    assert data.train.images.shape[1:] == (1, 8, 8) and data.num_classes == 10
    assert not ids(data.train) & ids(data.val) and not (ids(data.train) | ids(data.val)) & ids(data.test)
    assert len(ids(data.train) | ids(data.val) | ids(data.test)) == 1797
    again = load_dataset({"kind": "digits", "splits": {"valFraction": 0.1, "splitSeed": 0}})
    assert torch.equal(data.val.source_index, again.val.source_index)
    other_seed = load_dataset({"kind": "digits", "splits": {"splitSeed": 1}})
    assert ids(other_seed.val) != ids(data.val) and ids(other_seed.test) != ids(data.test)
    other_fraction = load_dataset({"kind": "digits", "splits": {"valFraction": 0.3}})
    assert ids(other_fraction.test) == ids(data.test)  # the test split does not move with valFraction
    assert len(other_fraction.val) == round_half_up(0.3 * 1438)


def test_dataset_config_errors_name_the_field():
    with pytest.raises(DataError, match="dataset.kind"):
        load_dataset({"kind": "market1501", "root": "x"})
    with pytest.raises(DataError, match="dataset.splits.valFraction"):
        load_dataset({"kind": "digits", "splits": {"valFraction": 1.5}})
    with pytest.raises(DataError, match="dataset.labelNoise.ratio"):
        load_dataset({"kind": "digits", "labelNoise": {"ratio": "a lot"}})
    assert dataset_kinds() == ["cifar10-bin", "digits", "synthetic-classes"]


# ---- label noise ----------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [0.1, 0.2, 0.45])
def test_label_noise_rate_is_exact_and_never_the_true_class(ratio):
    labels = torch.arange(1001) % 10
    noisy, mask = corrupt_labels(labels, 10, ratio, seed=3)
    assert int(mask.sum()) == round_half_up(ratio * 1001)
    assert torch.equal(noisy != labels, mask)
    assert torch.equal(noisy[~mask], labels[~mask])
    again, _ = corrupt_labels(labels, 10, ratio, seed=3)
    assert torch.equal(noisy, again)
    assert not torch.equal(noisy, corrupt_labels(labels, 10, ratio, seed=4)[0])


def test_label_noise_is_uniform_over_the_other_classes():
    labels = torch.zeros(20000, dtype=torch.int64)
    noisy, mask = corrupt_labels(labels, 5, 0.5, seed=0)
    counts = collections.Counter(noisy[mask].tolist())
    assert set(counts) == {1, 2, 3, 4}
    assert all(abs(count - 2500) < 200 for count in counts.values())


def test_label_noise_touches_the_training_split_only():
    clean = load_dataset({"kind": "digits"})
    noisy = load_dataset({"kind": "digits", "labelNoise": {"ratio": 0.2, "seed": 0}})
    assert torch.equal(noisy.val.labels, clean.val.labels) and torch.equal(noisy.test.labels, clean.test.labels)
    assert torch.equal(noisy.clean_train_labels, clean.train.labels)
    changed = noisy.train.labels != clean.train.labels
    assert int(changed.sum()) == round_half_up(0.2 * 1294) == int(noisy.noisy.sum())
    assert torch.equal(changed, noisy.noisy)


# ---- CIFAR-10 binary ------------------------------------------------------------------------


@pytest.fixture
def cifar_root(tmp_path):
    root = tmp_path / "cifar-10-batches-bin"
    assert fixture_main([str(root), "--per-batch", "12", "--test", "10"]) == 0
    return root


def test_fixture_writes_the_official_layout(cifar_root):
    names = sorted(os.listdir(cifar_root))
    assert names == sorted([*TRAIN_FILES, TEST_FILE, "batches.meta.txt"])
    for name in TRAIN_FILES:
        assert os.path.getsize(cifar_root / name) == 12 * RECORD_BYTES
    assert os.path.getsize(cifar_root / TEST_FILE) == 10 * RECORD_BYTES
    assert (cifar_root / "batches.meta.txt").read_text().split()[:2] == ["airplane", "automobile"]


def test_reader_on_a_fixture_tree(cifar_root):
    train, test = read_cifar10(str(cifar_root))
    assert train.images.shape == (60, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.images.shape == (10, 3, 32, 32)
    assert train.labels.tolist() == [i % 10 for i in range(60)]
    raw = np.fromfile(cifar_root / "data_batch_2.bin", dtype=np.uint8).reshape(-1, RECORD_BYTES)
    assert torch.equal(train.images[12], torch.from_numpy(raw[0, 1:].reshape(3, 32, 32)))  # CHW, batch order
    parent = load_dataset({"kind": "cifar10-bin", "root": str(cifar_root.parent)})  # the parent folder works too
    assert parent.sizes() == {"train": 54, "val": 6, "test": 10}


def test_reader_layout_is_channel_major(tmp_path):
    record = np.zeros(RECORD_BYTES, dtype=np.uint8)
    record[0] = 7
    record[1 : 1 + 32] = np.arange(32)  # red channel, first row
    record[1 + 1024 + 32 : 1 + 1024 + 64] = 200  # green channel, second row
    for name in (*TRAIN_FILES, TEST_FILE):
        record.tofile(tmp_path / name)
    train, _ = read_cifar10(str(tmp_path))
    assert train.labels[0] == 7
    assert train.images[0, 0, 0].tolist() == list(range(32))
    assert (train.images[0, 1, 1] == 200).all() and train.images[0, 1, 0].sum() == 0


def test_wrong_layout_errors_name_the_file(cifar_root, tmp_path):
    os.remove(cifar_root / "data_batch_3.bin")
    with pytest.raises(DataError, match=r"not found: .*data_batch_3\.bin"):
        read_cifar10(str(cifar_root))
    (cifar_root / "data_batch_3.bin").write_bytes(b"\0" * (RECORD_BYTES + 5))
    with pytest.raises(DataError, match=r"data_batch_3\.bin: 3078 bytes is not a whole number of 3073-byte"):
        read_cifar10(str(cifar_root))
    bad_label = np.zeros(RECORD_BYTES, dtype=np.uint8)
    bad_label[0] = 10
    bad_label.tofile(cifar_root / "data_batch_3.bin")
    with pytest.raises(DataError, match=r"data_batch_3\.bin: record 0 has label 10"):
        read_cifar10(str(cifar_root))
    with pytest.raises(DataError, match="dataset.root"):
        load_dataset({"kind": "cifar10-bin", "root": str(tmp_path / "nowhere")})
    with pytest.raises(DataError, match="dataset.root"):
        load_dataset({"kind": "cifar10-bin", "root": ""})


# ---- transforms -----------------------------------------------------------------------------


def test_random_crop_flip_matches_a_per_image_reference():
    images = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    out = random_crop_flip(images, 2, torch.Generator().manual_seed(4))
    generator = torch.Generator().manual_seed(4)
    dy = torch.randint(0, 5, (6,), generator=generator)
    dx = torch.randint(0, 5, (6,), generator=generator)
    flips = torch.rand(6, generator=generator) < 0.5
    for i in range(6):
        padded = torch.zeros(3, 12, 12, dtype=torch.uint8)
        padded[:, 2:10, 2:10] = images[i]
        crop = padded[:, dy[i] : dy[i] + 8, dx[i] : dx[i] + 8]
        assert torch.equal(out[i], crop.flip(2) if flips[i] else crop)
    assert torch.equal(random_crop_flip(images, 0, torch.Generator(), flip=False), images)


def test_normalize():
    images = torch.full((1, 2, 2, 2), 255, dtype=torch.uint8)
    out = normalize(images, 255.0, (0.5, 0.25), (0.5, 0.25))
    assert torch.allclose(out[0, 0], torch.ones(2, 2)) and torch.allclose(out[0, 1], torch.full((2, 2), 3.0))
