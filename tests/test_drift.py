"""train.drift: the session-drift protocol's split and tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from train.data import Sample
from train.drift import drift_split, rate, track_means, windows


def _samples(identity: str, frames) -> list[Sample]:
    return [Sample(Path(f"{identity}/frame_{n}.jpg"), identity, n) for n in frames]


def test_fit_on_the_earliest_half_then_later_bins_after_a_gap() -> None:
    samples = _samples("b", range(1, 101)) + _samples("a", range(1, 41))
    split = drift_split(samples, fit_fraction=0.5, bins=3, gap=10)
    fit_b = [s.frame for s in split.fit if s.identity == "b"]
    assert fit_b == list(range(1, 51))
    later_b = [[s.frame for s in part if s.identity == "b"] for part in split.bins]
    assert later_b == [list(range(61, 75)), list(range(75, 88)), list(range(88, 101))]
    # Each identity's rows stay together and in time order: a is listed first in every part.
    assert [s.identity for s in split.fit][:20] == ["a"] * 20
    assert max(s.frame for s in split.bins[0] if s.identity == "a") < min(
        s.frame for s in split.bins[-1] if s.identity == "a"
    )


def test_the_gap_counts_frame_numbers_not_rows() -> None:
    samples = _samples("a", [1, 2, 3, 4, 30, 31, 32, 33])  # the tracker lost it for a while
    split = drift_split(samples, fit_fraction=0.5, bins=1, gap=10)
    assert [s.frame for s in split.bins[0]] == [30, 31, 32, 33]


def test_bad_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="fit_fraction"):
        drift_split(_samples("a", range(10)), fit_fraction=1.0)


def test_windows_are_every_run_of_one_identity() -> None:
    labels = np.array(["a"] * 5 + ["b"] * 2)
    runs = windows(labels, length=3)
    assert [r.tolist() for r in runs] == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [5, 6]]


def test_track_means_are_unit_means() -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    means = track_means(x, [np.array([0, 1]), np.array([2])])
    np.testing.assert_allclose(means, [[2**-0.5, 2**-0.5], [1.0, 0.0]], rtol=1e-6)


def test_rate() -> None:
    assert rate(np.array([True, False, True, True])) == 0.75
    assert rate(np.array([], bool)) is None
