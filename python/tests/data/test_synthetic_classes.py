"""``synthetic-classes``: generated from the split seed alone, exact sizes, balanced classes, label noise as for digits."""
import collections

import numpy as np
import pytest
import torch

from amlfs.data import DataError, SplitMix64, SyntheticClassesSpec, load_dataset, round_half_up
from amlfs.data.normals import splitmix64_block, standard_normals
from amlfs.data.synthetic_classes import PIXEL_MAX, class_centres, synthetic_examples, to_codes

SMALL = SyntheticClassesSpec(classes=50, dims=8, train_per_class=10, test_per_class=4, noise_std=0.2)


def section(split_seed=0, val_fraction=0.1, **more):
    return {"kind": "synthetic-classes", "splits": {"valFraction": val_fraction, "splitSeed": split_seed}, **more}


def per_class(labels):
    return collections.Counter(labels.tolist())


# ---- the generator --------------------------------------------------------------------------


def test_the_bulk_generator_is_splitmix64():
    rng = SplitMix64(7, 4)
    assert [int(z) for z in splitmix64_block(7, 4, 100)] == [rng.next() for _ in range(100)]
    assert splitmix64_block(0, 0, 0).shape == (0,)
    with pytest.raises(ValueError, match="seed"):
        splitmix64_block(-1, 0, 3)


def test_normals_are_seeded_and_standard():
    a = standard_normals(3, 5, (200, 50))
    assert a.shape == (200, 50) and np.array_equal(a, standard_normals(3, 5, (200, 50)))
    assert not np.array_equal(a, standard_normals(4, 5, (200, 50)))
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02


# ---- the data set ---------------------------------------------------------------------------


def test_default_sizes():
    data = load_dataset(section())
    assert data.sizes() == {"train": 21600, "val": 2400, "test": 6000}
    assert data.num_classes == 1000 and data.train.images.shape[1:] == (32, 1, 1)
    assert data.train.images.dtype == torch.uint8 and len(data.mean) == len(data.std) == 32


def test_shapes_and_class_balance():
    data = load_dataset(section(), spec=SMALL)
    assert data.sizes() == {"train": 450, "val": 50, "test": 200}
    assert data.train.images.shape == (450, 8, 1, 1) and data.test.images.shape == (200, 8, 1, 1)
    assert per_class(data.test.labels) == {c: 4 for c in range(50)}
    assert per_class(data.val.labels) == {c: 1 for c in range(50)}
    assert per_class(data.train.labels) == {c: 9 for c in range(50)}
    pool = set(data.train.source_index.tolist()) | set(data.val.source_index.tolist())
    assert pool == set(range(500)) and not pool & set(data.test.source_index.tolist())


def test_determined_by_the_split_seed():
    a, b = load_dataset(section(), spec=SMALL), load_dataset(section(), spec=SMALL)
    for name in ("train", "val", "test"):
        assert torch.equal(a.split(name).images, b.split(name).images)
        assert torch.equal(a.split(name).labels, b.split(name).labels)
    other = load_dataset(section(split_seed=1), spec=SMALL)
    assert not torch.equal(a.test.images, other.test.images)
    assert not np.allclose(class_centres(SMALL, 0), class_centres(SMALL, 1))


def test_examples_are_noisy_copies_of_unit_centres():
    centres = class_centres(SMALL, 0)
    assert np.allclose(np.linalg.norm(centres, axis=1), 1)
    x, labels = synthetic_examples(SMALL, 0)
    assert labels[:50].tolist() == list(range(50))  # round-robin: the first C rows cover every class
    residual = x - centres[labels]
    assert abs(residual.std() - SMALL.noise_std) < 0.01 and abs(residual.mean()) < 0.01
    # the codes decode to x within half a step
    r = SMALL.code_range
    decoded = to_codes(x, SMALL).view(x.shape).double().numpy() / PIXEL_MAX * 2 * r - r
    assert np.abs(decoded - x).max() <= r / PIXEL_MAX + 1e-12


def test_the_nearest_centre_classifies_most_test_examples():
    x, labels = synthetic_examples(SMALL, 0)
    test = slice(SMALL.train_per_class * SMALL.classes, None)
    nearest = ((x[test, None, :] - class_centres(SMALL, 0)[None]) ** 2).sum(-1).argmin(1)
    assert 0.5 < (nearest == labels[test]).mean() < 1.0


def test_label_noise_touches_the_training_split_only():
    clean = load_dataset(section(), spec=SMALL)
    noisy = load_dataset(section(labelNoise={"ratio": 0.4, "seed": 2}), spec=SMALL)
    assert torch.equal(noisy.val.labels, clean.val.labels) and torch.equal(noisy.test.labels, clean.test.labels)
    assert torch.equal(noisy.train.images, clean.train.images)
    changed = noisy.train.labels != clean.train.labels
    assert int(changed.sum()) == round_half_up(0.4 * 450) == int(noisy.noisy.sum())


def test_errors_name_the_field():
    with pytest.raises(DataError, match="dataset.root"):
        load_dataset(section(root="/data/somewhere"), spec=SMALL)
    with pytest.raises(DataError, match="classes"):
        SyntheticClassesSpec(classes=1)
    with pytest.raises(DataError, match="noise_std"):
        SyntheticClassesSpec(noise_std=0.0)
