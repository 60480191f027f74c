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


def balanced_sampler_batches(num_ids: int, p: int) -> int:
    """CoinCheung/SphereReID@e02c7b9 balanced_sampler.py: ``iter_num = len(persons) // P``."""
    persons = list(range(num_ids))
    return len(persons) // p


def sft_reid_batches(num_ids: int, p: int) -> int:
    """LuckyDC/sft-reid utils/iterators.py TrainIterator: ``len(list(range(0, len(pids), p))[:-1])``."""
    return len(list(range(0, num_ids, p))[:-1])


@pytest.mark.parametrize("num_ids, p", [(751, 16), (702, 16), (6, 2), (6, 4), (7, 2)])
def test_an_identity_epoch_has_as_many_batches_as_the_upstream_samplers(num_ids, p):
    labels = [i for i in range(num_ids) for _ in range(3)]
    sampler = PKSampler(labels, p, 2, epoch="identities")
    assert len(sampler) == balanced_sampler_batches(num_ids, p)
    assert len(list(sampler)) == len(sampler)
    if num_ids % p:  # sft-reid drops the last chunk only when it is short; the counts agree then
        assert len(sampler) == sft_reid_batches(num_ids, p)
    assert (751 // 16, 702 // 16) == (46, 43)  # Market-1501, DukeMTMC-reID


def test_an_identity_epoch_takes_each_identity_at_most_once_and_k_images_of_it():
    sampler = PKSampler(LABELS, 2, 4, generator=torch.Generator().manual_seed(3), epoch="identities")
    for _ in range(3):
        batches = list(sampler)
        assert len(batches) == 3
        ids = [LABELS[i] for batch in batches for i in batch]
        counts = collections.Counter(ids)
        assert set(counts.values()) == {4} and len(counts) == 6  # 6 ids // 2 = 3 batches cover all of them
        for batch in batches:
            assert [LABELS[i] for i in batch][::4] == [LABELS[i] for i in batch][3::4]


def test_an_images_epoch_is_unchanged_and_a_bad_epoch_kind_is_named():
    assert len(PKSampler(LABELS, 2, 4)) == len(LABELS) // 8
    with pytest.raises(DataError, match=r"`epoch` to be one of images, identities, got 'batches'"):
        PKSampler(LABELS, 2, 4, epoch="batches")
