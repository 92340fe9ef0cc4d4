"""Scoring against the simulator's truth: a box is one swimmer's at most, the best one's."""

from __future__ import annotations

from demo.score import match_detections, pair_boxes
from edge.types import Box

# Two swimmers side by side: their pasted crops overlap, their bodies do not.
LEFT = {"identity": "1", "crop_box": [0, 0, 100, 100], "box": [10, 10, 30, 60]}
RIGHT = {"identity": "2", "crop_box": [50, 0, 100, 100], "box": [70, 10, 30, 60]}


def test_a_box_on_two_crops_goes_to_the_swimmer_it_covers_and_frees_the_other() -> None:
    on_right, on_left = Box(70, 10, 30, 60), Box(12, 12, 28, 56)  # right's centre is on both
    pairs = pair_boxes([on_right, on_left], [LEFT, RIGHT])
    assert sorted((i, s["identity"]) for i, s in pairs) == [(0, "2"), (1, "1")]
    matched, off = match_detections([on_right, on_left], [LEFT, RIGHT])
    assert off == 0 and [s["identity"] for _, s in matched] == ["2", "1"]


def test_one_box_for_two_swimmers_counts_once() -> None:
    merged = Box(20, 10, 80, 60)  # more of the right swimmer
    assert [s["identity"] for _, s in pair_boxes([merged], [LEFT, RIGHT])] == ["2"]
    assert pair_boxes([Box(300, 300, 10, 10)], [LEFT, RIGHT]) == []
