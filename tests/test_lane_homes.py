"""LaneHomes: the lane a swimmer keeps to, from the frames it was named in each."""

from __future__ import annotations

from edge.tracking.lane_homes import HOME_AFTER, HOME_FRAMES, LaneHomes


def test_a_swimmer_is_at_home_in_its_lane_once_named_there_for_home_after_frames() -> None:
    homes = LaneHomes()
    for frame in range(HOME_AFTER - 1):
        homes.count(frame, [("A", 2), ("B", 5)])
    homes.count(HOME_AFTER - 1, [("B", 3)])  # a moment in the next lane
    assert homes.by_lane() == {}
    homes.count(HOME_AFTER, [("A", 2), ("B", 5)])
    assert homes.by_lane() == {2: {"A"}, 5: {"B"}}


def test_a_swimmer_who_moves_lanes_makes_the_new_one_home_within_a_home_frames() -> None:
    """A minute in lane 2, then lane 6 for good: the counts are halved every HOME_FRAMES, so
    lane 6 wins before another HOME_FRAMES have passed (unhalved, it would take them all)."""
    homes = LaneHomes()
    for frame in range(HOME_FRAMES):
        homes.count(frame, [("A", 2)])
    frame = HOME_FRAMES
    while homes.by_lane() != {6: {"A"}}:
        homes.count(frame, [("A", 6)])
        frame += 1
    assert frame - HOME_FRAMES < HOME_FRAMES
