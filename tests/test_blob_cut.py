"""Cutting a box that holds two swimmers (edge/tracking/blob_cut.py)."""

from __future__ import annotations

from edge.tracking.blob_cut import EXCESS_SHARE, SEPARATE_SHARE, cut_between, split_off
from edge.types import Box


def test_a_box_two_swimmers_long_is_cut_half_way_between_their_centres() -> None:
    behind = [Box(100, 50, 40, 100), Box(100, 170, 40, 100)]  # centres at y 100 and 220
    assert cut_between(Box(98, 40, 44, 240), behind) == [
        Box(98, 40, 44, 120),
        Box(98, 160, 44, 120),
    ]
    beside = [Box(100, 50, 40, 100), Box(150, 60, 40, 100)]  # centres at x 120 and 170
    assert cut_between(Box(96, 50, 98, 110), beside) == [
        Box(96, 50, 49, 110),
        Box(145, 50, 49, 110),
    ]


def test_a_box_about_one_swimmer_long_is_one_swimmer() -> None:
    behind = [Box(100, 50, 40, 100), Box(100, 90, 40, 100)]
    short = Box(100, 50, 40, round(SEPARATE_SHARE * 200) - 1)
    assert cut_between(short, behind) == [short]


def test_the_part_past_a_predicted_box_is_split_off_where_it_reaches_furthest() -> None:
    predicted = Box(100, 100, 40, 100)
    reach = round(EXCESS_SHARE * 100)
    assert split_off(Box(100, 100, 40, 100 + reach), predicted) == (
        Box(100, 100, 40, 100),
        Box(100, 200, 40, reach),
    )
    assert split_off(Box(100, 100 - reach, 40, 100 + reach), predicted) == (
        Box(100, 100, 40, 100),
        Box(100, 100 - reach, 40, reach),
    )
    assert split_off(Box(100, 100, 40, 100 + reach - 1), predicted) is None
