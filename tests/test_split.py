"""Split properties: the time split keeps later frames for testing behind a gap; no leaks."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from train.data import DEFAULT_GAP_FRAMES, Sample, random_split, time_split
from train.errors import DataError
from train.run import make_split


def _samples(counts: dict[str, int]) -> list[Sample]:
    return [
        Sample(Path(f"{name}/frame_{f}.jpg"), name, f)
        for name, n in counts.items()
        for f in range(1, n + 1)
    ]


SAMPLES = _samples({"1": 71, "2": 250, "3": 120})


def _frames(samples: list[Sample]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for s in samples:
        out[s.identity].append(s.frame)
    return out


def test_time_split_tests_the_last_fifth_after_a_gap():
    split = time_split(SAMPLES)
    train, test = _frames(split.train), _frames(split.test)
    for identity, n in {"1": 71, "2": 250, "3": 120}.items():
        assert len(test[identity]) == round(0.2 * n)
        assert min(test[identity]) - max(train[identity]) > DEFAULT_GAP_FRAMES
        assert max(test[identity]) == n
        assert len(train[identity]) == n - round(0.2 * n) - DEFAULT_GAP_FRAMES


def test_time_split_gap_counts_frame_numbers_not_files():
    sparse = [Sample(Path(f"a/{f}.jpg"), "a", f) for f in (1, 2, 3, 50, 60, 70, 80, 90)]
    split = time_split(sparse, test_fraction=0.25, gap=10)
    assert [s.frame for s in split.test] == [80, 90]
    assert [s.frame for s in split.train] == [1, 2, 3, 50, 60]


def test_random_split_is_disjoint_complete_and_seeded():
    one, two = random_split(SAMPLES, seed=3), random_split(SAMPLES, seed=3)
    assert one == two
    assert not set(one.train) & set(one.test)
    assert len(one.train) + len(one.test) == len(SAMPLES)
    assert len(one.test) == round(0.2 * len(SAMPLES))
    assert random_split(SAMPLES, seed=4).test != one.test


def _write_identity(root: Path, name: str, frames: int) -> None:
    import cv2
    import numpy as np

    (root / name).mkdir(parents=True)
    for f in range(1, frames + 1):
        cv2.imwrite(str(root / name / f"frame_{f}.png"), np.zeros((8, 6, 3), np.uint8))


def test_make_split_sorts_each_side_by_identity_then_frame(tmp_path):
    _write_identity(tmp_path, "b", 30)
    _write_identity(tmp_path, "a", 30)
    split = make_split(tmp_path, "random", seed=0)
    for side in (split.train, split.test):
        assert side == sorted(side, key=lambda s: (s.identity, s.frame))


def test_identity_too_short_for_the_time_split_is_a_data_error(tmp_path):
    _write_identity(tmp_path, "long", 40)
    _write_identity(tmp_path, "short", 8)  # 2 test frames, the gap swallows the rest
    with pytest.raises(DataError, match="'short'"):
        make_split(tmp_path, "time", seed=0)
