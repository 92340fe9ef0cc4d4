"""Which lane a box is in, with lanes as equal vertical columns across the frame (the
`detector.lanes` setting): the daemon's tracker, the snapshot and reid-collect agree on it."""

from __future__ import annotations

from edge.types import Box


def lane_width(frame_width: int, lanes: int) -> float:
    """Pixels per lane; 0.0 when the frame is not divided into lanes (lanes = 0)."""
    return frame_width / lanes if lanes > 0 else 0.0


def lane_of(box: Box, frame_width: int, lanes: int) -> int:
    """The lane (1 = leftmost) holding the box's centre; 0 when there are no lanes."""
    if lanes <= 0:
        return 0
    return min(lanes, int(box.center[0] / lane_width(frame_width, lanes)) + 1)
