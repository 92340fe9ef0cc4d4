"""Tracker: stable ids, voted identities, new/update/end events, lanes respected."""

from __future__ import annotations

import pytest

from edge.config import TrackerConfig
from edge.track import TrackChange, Tracker
from edge.types import Box, Detection, Prediction

CFG = TrackerConfig(max_missed=3, min_iou=0.1, vote_window=5, settle_votes=3)


def said(swimmer: str | None, score: float = 0.9) -> Prediction:
    return Prediction(swimmer_id=swimmer, candidate=swimmer or "x", score=score)


def at(x: int, y: int) -> Detection:
    return Detection(Box(x, y, 40, 100))


def run(tracker: Tracker, frames: list[list[tuple[Detection, Prediction]]], start: int = 0):
    """Feed frames; return (frame index, change) for every change."""
    out = []
    for index, frame in enumerate(frames, start):
        changes = tracker.update(index, index / 25, [d for d, _ in frame], [p for _, p in frame])
        out += [(index, c) for c in changes]
    return out


def test_two_swimmers_keep_their_ids_and_end_when_gone() -> None:
    tracker = Tracker(CFG)
    frames = [
        [(at(60, 100 + 8 * i), said("1")), (at(380, 500 - 8 * i), said("2"))] for i in range(20)
    ]
    changes = run(tracker, frames) + run(tracker, [[]] * 5, start=20)
    assert [(i, c.type, c.track_id, c.swimmer_id) for i, c in changes] == [
        (2, "new", 1, "1"),
        (2, "new", 2, "2"),
        (23, "end", 1, "1"),  # unseen in 20, 21, 22 (max_missed 3): ended in 23
        (23, "end", 2, "2"),
    ]
    assert changes[2][1].box == Box(60, 100 + 8 * 19, 40, 100)  # last seen place
    assert changes[0][1].score == pytest.approx(0.9)


def test_identity_changes_only_when_a_rival_outvotes_it() -> None:
    tracker = Tracker(CFG)
    votes = ["A"] * 5 + ["B"] + ["A"] * 2 + ["B"] * 3 + ["B"] * 2
    frames = [[(at(200, 100 + 5 * i), said(v))] for i, v in enumerate(votes)]
    changes = [(i, c.type, c.swimmer_id) for i, c in run(tracker, frames)]
    # The lone B at frame 5 changes nothing; the window at frame 9 is B,A,A,B,B: B outvotes A.
    assert changes == [(2, "new", "A"), (9, "update", "B")]
    assert {c.track_id for c in tracker.finish()} == {1}


def test_a_tie_keeps_the_announced_identity() -> None:
    tracker = Tracker(TrackerConfig(vote_window=4, settle_votes=2))
    votes = ["A", "A", "B", "B"]  # window A,A,B,B: a tie, no update
    frames = [[(at(200, 100 + 5 * i), said(v))] for i, v in enumerate(votes)]
    assert [c.type for _, c in run(tracker, frames)] == ["new"]


def test_a_stranger_is_unknown_until_a_known_swimmer_outvotes_it() -> None:
    tracker = Tracker(CFG)
    votes = [None] * 3 + ["7"] * 4
    frames = [
        [(at(200, 100 + 5 * i), said(v, 0.4 if v is None else 0.8))] for i, v in enumerate(votes)
    ]
    changes = [(c.type, c.swimmer_id, c.score) for _, c in run(tracker, frames)]
    assert changes == [("new", None, pytest.approx(0.4)), ("update", "7", pytest.approx(0.8))]


def test_a_known_swimmers_weak_crops_do_not_make_the_track_unknown() -> None:
    tracker = Tracker(CFG)  # window 5: unknown needs 3 of 5 votes
    votes = ["4", "4", "4", None, None, "5", "6", None]
    frames = [[(at(200, 100 + 5 * i), said(v))] for i, v in enumerate(votes)]
    changes = [(i, c.type, c.swimmer_id) for i, c in run(tracker, frames)]
    # Frame 6 (4,N,N,5,6): unknown is the most common vote but not a majority, so "4" stays;
    # frame 7 (N,N,5,6,N): unknown has 3 of 5.
    assert changes == [(2, "new", "4"), (7, "update", None)]


def test_a_one_frame_splash_never_becomes_a_track() -> None:
    tracker = Tracker(CFG)
    frames = [[(at(600, 300), said("3"))]] + [[]] * 10
    assert run(tracker, frames) == []
    assert tracker.finish() == []


def test_finish_ends_announced_tracks_only() -> None:
    tracker = Tracker(CFG)
    run(tracker, [[(at(60, 100 + 5 * i), said("1"))] for i in range(3)])
    run(tracker, [[(at(60, 115), said("1")), (at(700, 400), said("2"))]], start=3)
    assert [(c.type, c.track_id, c.swimmer_id) for c in tracker.finish()] == [("end", 1, "1")]
    assert tracker.finish() == []


def test_a_track_does_not_jump_lanes() -> None:
    sideways = [[(at(135, 300), said("1"))], [(at(145, 305), said("1"))]]  # centres 155, 165
    in_lanes = Tracker(TrackerConfig(settle_votes=1), lane_width=160)
    assert [c.type for _, c in run(in_lanes, sideways)] == ["new", "new"]
    anywhere = Tracker(TrackerConfig(settle_votes=1))
    assert [c.type for _, c in run(anywhere, sideways)] == ["new"]


def test_swimmers_passing_in_neighbour_lanes_keep_their_ids() -> None:
    tracker = Tracker(CFG, lane_width=160)
    frames = [
        [(at(110, 100 + 20 * i), said("a")), (at(170, 500 - 20 * i), said("b"))] for i in range(21)
    ]
    changes = run(tracker, frames)
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in changes] == [
        ("new", 1, "a"),
        ("new", 2, "b"),
    ]
    ends = {c.track_id: c.box.y for c in tracker.finish()}
    assert ends == {1: 500, 2: 100}


def test_a_fast_swimmer_is_followed_by_its_centroid() -> None:
    tracker = Tracker(CFG)
    frames = [[(at(300, 50 + 90 * i), said("5"))] for i in range(6)]  # IoU with last box < 0.1
    assert [c.type for _, c in run(tracker, frames)] == ["new"]


def test_skipped_frames_count_as_missed() -> None:
    tracker = Tracker(CFG)
    run(tracker, [[(at(60, 100), said("1"))]] * 3)
    assert tracker.update(5, 0.2, [], []) == []  # unseen 3 frames: still alive
    (end,) = tracker.update(6, 0.24, [], [])
    assert isinstance(end, TrackChange) and end.type == "end"


def test_predictions_must_match_detections() -> None:
    with pytest.raises(ValueError, match="2 detections but 1 predictions"):
        Tracker(CFG).update(0, 0.0, [at(0, 0), at(300, 0)], [said("1")])
    with pytest.raises(ValueError, match="settle_votes"):
        Tracker(TrackerConfig(vote_window=2, settle_votes=3))


def test_with_lanes_known_a_sideways_jump_inside_the_lane_continues_the_track() -> None:
    jumpy = [[(at(170, 300), said("1"))], [(at(260, 320), said("1"))]]  # both in lane 1
    in_lanes = Tracker(TrackerConfig(settle_votes=1), lane_width=160)
    assert [c.type for _, c in run(in_lanes, jumpy)] == ["new"]
    anywhere = Tracker(TrackerConfig(settle_votes=1))  # 90 px sideways: more than a box width
    assert [c.type for _, c in run(anywhere, jumpy)] == ["new", "new"]
