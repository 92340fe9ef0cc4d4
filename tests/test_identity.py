"""edge.tracking.identity: each swimmer in one place at most, unknown below the track threshold."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from edge.tracking.identity import HOLD_MARGIN, HOME_MARGIN, Naming, assign, hungarian, name_tracks

SWIMMERS = ("1", "5", "7")


@pytest.mark.parametrize("seed", range(40))
def test_hungarian_finds_the_least_total_cost_as_scipy_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    cost = rng.normal(size=(n, n + int(rng.integers(0, 5))))
    if seed % 2:
        cost = np.round(cost, 1)  # ties
    columns = hungarian(cost)
    rows, expected = linear_sum_assignment(cost)
    assert len(set(columns)) == n
    assert cost[np.arange(n), columns].sum() == pytest.approx(cost[rows, expected].sum())


@pytest.mark.parametrize("seed", range(8))
def test_assign_gives_the_best_total_with_or_without_the_search(seed: int) -> None:
    """Odd seeds: every row has a best column of its own (answered without the search); even
    ones: random, rows clashing over columns (the search). Either way scipy's best total, and
    no column given twice."""
    rng = np.random.default_rng(seed)
    n, m, threshold = 6, 8, 0.5
    sims = rng.uniform(0, 1, (n, m))
    if seed % 2:
        sims[np.arange(n), rng.permutation(m)[:n]] += 1.0
    chosen = assign(sims, threshold)
    total = sum(sims[i, j] if j is not None else threshold for i, j in enumerate(chosen))
    benefit = np.hstack([sims, np.where(np.eye(n, dtype=bool), threshold, -1e9)])
    rows, columns = linear_sum_assignment(-benefit)
    assert total == pytest.approx(benefit[rows, columns].sum())
    named = [j for j in chosen if j is not None]
    assert len(set(named)) == len(named)


def test_hungarian_refuses_more_rows_than_columns() -> None:
    with pytest.raises(ValueError, match="no more rows than columns"):
        hungarian(np.zeros((3, 2)))


def test_two_tracks_claiming_one_swimmer_the_better_one_gets_it() -> None:
    sims = np.array([[0.95, 0.30, 0.20], [0.90, 0.35, 0.25]])
    assert assign(sims, 0.6) == [0, None]
    assert name_tracks(sims, SWIMMERS, 0.6) == [Naming("1", 0.95), Naming(None, 0.90)]


def test_the_total_is_what_counts_not_each_track_greedily() -> None:
    # Greedy would give swimmer 1 to track 0 (0.9) and leave track 1 unknown (0.85 is its only
    # match); the best total gives track 0 its second choice.
    sims = np.array([[0.90, 0.80, 0.0], [0.85, 0.30, 0.0]])
    assert assign(sims, 0.6) == [1, 0]


def test_a_stranger_alone_is_unknown_below_the_threshold_and_named_above() -> None:
    assert name_tracks(np.array([[0.55, 0.50, 0.40]]), SWIMMERS, 0.6) == [Naming(None, 0.55)]
    assert name_tracks(np.array([[0.65, 0.50, 0.40]]), SWIMMERS, 0.6) == [Naming("1", 0.65)]


def test_more_tracks_than_swimmers_leaves_the_weakest_unknown() -> None:
    sims = np.array([[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9], [0.8, 0.8, 0.8]])
    assert assign(sims, 0.5) == [0, 1, 2, None]


def test_a_track_keeps_its_swimmer_against_a_slightly_better_rival() -> None:
    sims = np.array([[0.90, 0.2, 0.2], [0.90 + HOLD_MARGIN / 2, 0.2, 0.2]])
    holding = ["1", None]
    assert [n.swimmer_id for n in name_tracks(sims, SWIMMERS, 0.6, holding)] == ["1", None]
    sims[1, 0] = 0.90 + 2 * HOLD_MARGIN  # a clear rival wins
    assert [n.swimmer_id for n in name_tracks(sims, SWIMMERS, 0.6, holding)] == [None, "1"]


def test_two_tracks_exchange_their_swimmers_only_when_each_looks_like_the_others() -> None:
    """Lane-mates in one cap and suit: track 0 (holding 1) drifts towards swimmer 5 by 0.07,
    track 1 (holding 5) looks like either. Their total gains 0.06, more than the two holds,
    but only one track says so: both keep their swimmers. Tracks that did swap say so both."""
    sims = np.array([[0.82, 0.89, 0.2], [0.88, 0.87, 0.2]])
    holding = ["1", "5"]
    assert [n.swimmer_id for n in name_tracks(sims, SWIMMERS, 0.6, holding)] == ["1", "5"]
    assert [n.swimmer_id for n in name_tracks(sims, SWIMMERS, 0.6)] == ["5", "1"]  # held by none
    swapped = np.array([[0.82, 0.89, 0.2], [0.88, 0.85, 0.2]])  # each 1.5 holds the other way
    assert [n.swimmer_id for n in name_tracks(swapped, SWIMMERS, 0.6, holding)] == ["5", "1"]


def test_a_track_below_the_threshold_gives_up_its_swimmer_to_an_exchange() -> None:
    sims = np.array([[0.55, 0.89, 0.2], [0.88, 0.87, 0.2]])  # track 0 no longer looks like 1
    named = name_tracks(sims, SWIMMERS, 0.6, ["1", "5"])
    assert [n.swimmer_id for n in named] == ["5", "1"]


def test_a_swimmer_away_for_a_moment_is_not_given_to_a_track_holding_another() -> None:
    sims = np.array([[0.70, 0.90, 0.2], [0.2, 0.80, 0.2]])
    named = name_tracks(sims[:1], SWIMMERS, 0.6, ["1"], away={"5"})
    assert named == [Naming("1", 0.70)]  # without away: "5", by more than the hold margin
    assert name_tracks(sims[:1], SWIMMERS, 0.6, ["1"])[0].swimmer_id == "5"
    # A track that holds no one yet may be that swimmer back.
    named = name_tracks(sims[1:], SWIMMERS, 0.6, [None], away={"5"})
    assert named == [Naming("5", 0.80)]


def test_a_swimmer_is_favoured_in_the_lane_they_swim_in() -> None:
    """Lookalikes in two lanes: each track keeps the swimmer of its own lane against a rival
    that is better by less than the home margin, not by more; never below the threshold."""
    rival = 0.80 + HOLD_MARGIN + HOME_MARGIN / 2
    sims = np.array([[0.80, rival, 0.2], [rival, 0.80, 0.2]])
    holding, home = ["1", "5"], [{"1"}, {"5"}]
    assert [n.swimmer_id for n in name_tracks(sims, SWIMMERS, 0.6, holding)] == ["5", "1"]
    named = name_tracks(sims, SWIMMERS, 0.6, holding, home=home)
    assert [n.swimmer_id for n in named] == ["1", "5"]
    sims[0, 1] = sims[1, 0] = 0.80 + 2 * (HOLD_MARGIN + HOME_MARGIN)  # clearly the other one
    named = name_tracks(sims, SWIMMERS, 0.6, holding, home=home)
    assert [n.swimmer_id for n in named] == ["5", "1"]
    below = name_tracks(np.array([[0.6 - HOME_MARGIN / 2, 0.1, 0.1]]), SWIMMERS, 0.6, home=[{"1"}])
    assert below[0].swimmer_id is None


def test_holding_never_lifts_a_track_over_the_threshold() -> None:
    sims = np.array([[0.6 - HOLD_MARGIN / 2, 0.1, 0.1]])
    assert name_tracks(sims, SWIMMERS, 0.6, ["1"]) == [Naming(None, pytest.approx(0.59))]


def test_no_tracks_no_names() -> None:
    assert name_tracks(np.zeros((0, 3)), SWIMMERS, 0.6) == []
