"""The P x K identity sampler."""
import collections

import pytest
import torch

from amlfs.data import DataError
from amlfs.data.reid import PKSampler

# 6 identities; identity 5 has 2 images (fewer than K), the others 4 or 5.
LABELS = [0] * 4 + [1] * 5 + [2] * 4 + [3] * 5 + [4] * 4 + [5] * 2


def test_batches_hold_p_distinct_ids_times_k_images_of_each():
    sampler = PKSampler(LABELS, p=3, k=4, generator=torch.Generator().manual_seed(1))
    batches = list(sampler)
    assert len(batches) == len(sampler) == len(LABELS) // 12
    for batch in batches:
        assert len(batch) == 12
        ids = [LABELS[i] for i in batch]
        assert len(set(ids)) == 3
        for slot in range(3):
            block = ids[slot * 4:(slot + 1) * 4]
            assert len(set(block)) == 1
        for label, count in collections.Counter(ids).items():
            assert count == 4
            picks = [i for i in batch if LABELS[i] == label]
            if LABELS.count(label) >= 4:
                assert len(set(picks)) == 4


def test_small_ids_are_sampled_with_replacement():
    sampler = PKSampler(LABELS, p=6, k=4, generator=torch.Generator().manual_seed(0))
    batch = next(iter(sampler))
    picks = [i for i in batch if LABELS[i] == 5]
    assert len(picks) == 4 and set(picks) <= {i for i, label in enumerate(LABELS) if label == 5}


def test_seeded_generator_fixes_the_sequence_and_epochs_differ():
    a = PKSampler(LABELS, 2, 3, torch.Generator().manual_seed(5))
    b = PKSampler(LABELS, 2, 3, torch.Generator().manual_seed(5))
    first_a, first_b = list(a), list(b)
    assert first_a == first_b
    assert list(a) != first_a


def test_one_epoch_is_about_the_training_set():
    assert len(PKSampler(list(range(100)) * 4, p=16, k=4)) == 400 // 64
    assert len(PKSampler(LABELS, p=6, k=10)) == 1


@pytest.mark.parametrize("p, k, match", [(7, 4, "number of identities"), (0, 4, "`p`"), (2, 0, "`k`")])
def test_bad_arguments(p, k, match):
    with pytest.raises(DataError, match=match):
        PKSampler(LABELS, p, k)


def test_works_as_a_dataloader_batch_sampler():
    dataset = torch.utils.data.TensorDataset(torch.tensor(LABELS))
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=PKSampler(LABELS, 2, 4))
    (labels,) = next(iter(loader))
    assert labels.shape == (8,)
