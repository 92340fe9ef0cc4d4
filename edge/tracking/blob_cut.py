"""Cutting a detector box that holds two swimmers, for the tracker (edge/tracking/track.py).

Swimmers close behind or beside each other are one blob to the water detector. Where the
tracker knows two swimmers are in one box (their tracks' predicted centres lie in it), the box
is cut half way between them (`cut_between`); where it knows one, and the box reaches well past
that one's predicted box, the part beyond may be a lane-mate surfacing beside it (`split_off`).
"""

from __future__ import annotations

import itertools

from edge.types import Box

# A box holding two tracks' predicted centres is two swimmers when it is at least this share of
# their boxes' lengths together (along the way the centres lie): a box about one swimmer long
# that two tracks follow is one swimmer with a duplicate track.
SEPARATE_SHARE = 0.8
# A box reaching this share of a followed track's predicted length past it may be the track's
# swimmer and a lane-mate in one blob.
EXCESS_SHARE = 0.6


def cut_between(box: Box, inside: list[Box]) -> list[Box]:
    """`box` cut half way between the centres of the predicted boxes `inside` it, along the
    axis they spread on; the box itself when it is shorter than SEPARATE_SHARE of theirs."""
    xs, ys = [p.center[0] for p in inside], [p.center[1] for p in inside]
    rows = max(ys) - min(ys) >= max(xs) - min(xs)  # one behind the other: cut across the lane
    start, length = (box.y, box.h) if rows else (box.x, box.w)
    if length < SEPARATE_SHARE * sum(p.h if rows else p.w for p in inside):
        return [box]
    centres = sorted(ys if rows else xs)
    cuts = [start, *(round((a + b) / 2) for a, b in itertools.pairwise(centres)), start + length]
    return [Box(box.x, a, box.w, b - a) if rows else Box(a, box.y, b - a, box.h)
            for a, b in itertools.pairwise(cuts) if b > a]  # fmt: skip


def split_off(box: Box, predicted: Box) -> tuple[Box, Box] | None:
    """(`box` up to `predicted`'s edge, the part beyond) on the side and axis where `box`
    reaches furthest past `predicted`, if that is at least EXCESS_SHARE of its length."""
    reaches = []
    for rows in (True, False):  # along the lane (one behind the other), across (side by side)
        start, length = (box.y, box.h) if rows else (box.x, box.w)
        p_start, p_length = (predicted.y, predicted.h) if rows else (predicted.x, predicted.w)
        before, after = p_start - start, start + length - (p_start + p_length)
        if max(before, after) >= EXCESS_SHARE * p_length:
            cut = p_start if before > after else p_start + p_length
            reaches.append((max(before, after), rows, cut, before > after))
    if not reaches:
        return None
    _, rows, cut, excess_first = max(reaches)
    if rows:
        first, second = (
            Box(box.x, box.y, box.w, cut - box.y),
            Box(box.x, cut, box.w, box.y + box.h - cut),
        )
    else:
        first, second = (
            Box(box.x, box.y, cut - box.x, box.h),
            Box(cut, box.y, box.x + box.w - cut, box.h),
        )
    return (second, first) if excess_first else (first, second)
