"""The P×K identity sampler: batch shape, every identity, balance despite unequal counts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from train.errors import TrainError
from train.sampler import PKSampler

# Unbalanced like the real data: one identity with few crops.
LABELS = ["a"] * 7 + ["b"] * 40 + ["c"] * 25 + ["d"] * 30 + ["e"] * 28


def test_batch_is_p_identities_of_k_crops_each():
    sampler = PKSampler(LABELS, p=3, k=4, seed=0)
    batch = sampler.batch()
    assert batch.shape == (12,) and sampler.batch_size == 12
    groups = [[LABELS[i] for i in batch[j : j + 4]] for j in range(0, 12, 4)]
    assert all(len(set(g)) == 1 for g in groups)
    assert len({g[0] for g in groups}) == 3


def test_crops_within_an_identity_are_distinct_when_there_are_enough():
    sampler = PKSampler(LABELS, p=5, k=6, seed=1)
    for batch in sampler.batches(20):
        for j in range(0, len(batch), 6):
            assert len(set(batch[j : j + 6].tolist())) == 6


def test_identity_with_fewer_crops_than_k_repeats_them():
    labels = ["x"] * 2 + ["y"] * 10
    batch = PKSampler(labels, p=2, k=5, seed=0).batch()
    assert Counter(labels[i] for i in batch) == {"x": 5, "y": 5}
    assert {int(i) for i in batch if labels[i] == "x"} == {0, 1}


def test_identities_are_balanced_and_all_seen():
    sampler = PKSampler(LABELS, p=2, k=4, seed=3)
    counts = Counter(LABELS[i] for batch in sampler.batches(50) for i in batch)
    assert set(counts) == set(LABELS)
    assert max(counts.values()) - min(counts.values()) <= 2 * 4  # at most one round apart


def test_small_identity_crops_are_all_used():
    sampler = PKSampler(LABELS, p=5, k=4, seed=0)
    seen = {int(i) for batch in sampler.batches(4) for i in batch if LABELS[i] == "a"}
    assert seen == set(range(7))


def test_p_larger_than_the_identities_takes_them_all():
    sampler = PKSampler(LABELS, p=50, k=2, seed=0)
    assert sampler.batch_size == 10
    assert {LABELS[i] for i in sampler.batch()} == set(LABELS)


def test_same_seed_same_batches():
    one = np.concatenate(list(PKSampler(LABELS, 3, 4, seed=7).batches(5)))
    two = np.concatenate(list(PKSampler(LABELS, 3, 4, seed=7).batches(5)))
    assert np.array_equal(one, two)


@pytest.mark.parametrize(("labels", "p", "k"), [(LABELS, 1, 4), (LABELS, 3, 1), (["a"] * 9, 2, 2)])
def test_impossible_batches_are_errors(labels, p, k):
    with pytest.raises(TrainError, match="identities"):
        PKSampler(labels, p, k)
