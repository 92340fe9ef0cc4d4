"""Where the water and the lanes are in the frame: the `[pool]` config made into pixels.

A camera on a pole or a ceiling sees lanes converge, so a lane boundary is a line through two
points, not a column. Points are given in normalised image coordinates (0..1 across and down),
so the config survives a change of capture size. Lane k (1 = leftmost) lies between boundary
k-1 and boundary k, where a boundary's x at a given height is read off its line; anything left
of the first boundary or right of the last is in no lane (0). Without lines, `detector.lanes`
equal columns across the whole frame are the boundaries, as before. The water is a polygon (the
whole frame by default) less the ignore masks (deck, flags, a pace clock): the detector looks
for swimmers only there.

Ropes lie along the boundaries, `ROPE_HALF_FRAC` of a lane wide on each side: the detector
clears them, and a crop keeps only its own lane's water (`lane_map`, edge/vision/crop.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from edge.config import Config, PoolConfig
from edge.types import Box, line_x

Point = tuple[float, float]
Line = tuple[Point, Point]

ROPE_HALF_FRAC = 0.05  # a lane rope's half width, as a fraction of the lane width


@dataclass(frozen=True)
class PoolGeometry:
    """The pool in one frame size, in pixels."""

    width: int
    height: int
    boundaries: tuple[Line, ...]  # left to right; len = lanes + 1 (or empty: no lanes)
    water: tuple[Point, ...]  # polygon; empty = the whole frame
    masks: tuple[tuple[Point, ...], ...]

    @classmethod
    def from_config(
        cls,
        width: int,
        height: int,
        lanes: int,
        lane_lines: Sequence = (),
        water: Sequence = (),
        masks: Sequence = (),
    ) -> PoolGeometry:
        """Normalised config geometry scaled to a `width` x `height` frame; `lanes` equal
        columns when there are no `lane_lines`."""

        def scale(points: Sequence) -> tuple[Point, ...]:
            return tuple((float(x) * width, float(y) * height) for x, y in points)

        if lane_lines:
            boundaries = tuple(scale(line) for line in lane_lines)
        elif lanes > 0:
            boundaries = tuple(((width * k / lanes, 0.0), (width * k / lanes, float(height)))
                               for k in range(lanes + 1))  # fmt: skip
        else:
            boundaries = ()
        return cls(width, height, boundaries, scale(water), tuple(scale(m) for m in masks))

    @property
    def lanes(self) -> int:
        return max(len(self.boundaries) - 1, 0)

    def lane_at(self, x: float, y: float) -> int:
        """The lane holding the point (1 = leftmost), 0 when outside every lane or no lanes."""
        if not self.boundaries:
            return 0
        crossings = [line_x(line, y) for line in self.boundaries]
        if x < crossings[0] or x > crossings[-1]:
            return 0
        return min(sum(x >= c for c in crossings), self.lanes)

    def lane_of(self, box: Box) -> int:
        return self.lane_at(*box.center)

    def lane_width_at(self, y: float) -> float:
        """The mean lane width at height `y` (0.0 without lanes): how wide things are there."""
        if not self.boundaries:
            return 0.0
        left, right = (line_x(self.boundaries[i], y) for i in (0, -1))
        return abs(right - left) / self.lanes

    @property
    def rope_width(self) -> int:
        """Pixels across a rope (ROPE_HALF_FRAC of a lane each side of its line, at least 1),
        at mid-height: what the detector clears and a crop leaves out."""
        return 2 * max(1, round(ROPE_HALF_FRAC * self.lane_width_at(self.height / 2)))

    @cached_property
    def lane_map(self) -> np.ndarray | None:
        """Each pixel's lane (uint8, 1 = leftmost), 0 outside every lane and on the ropes;
        None without lanes. Made once per camera (the geometry is fixed)."""
        if not self.boundaries:
            return None
        lanes = np.zeros((self.height, self.width), np.uint8)
        top, bottom = 0.0, float(self.height)
        for lane, (left, right) in enumerate(itertools.pairwise(self.boundaries), 1):
            corners = [(line_x(left, top), top), (line_x(right, top), top),
                       (line_x(right, bottom), bottom), (line_x(left, bottom), bottom)]  # fmt: skip
            cv2.fillPoly(lanes, [np.round(corners).astype(np.int32)], lane)
        for start, end in self.segments(self.width, self.height):
            cv2.line(lanes, start, end, 0, self.rope_width)
        return lanes

    def water_mask(self, width: int, height: int) -> np.ndarray:
        """uint8 mask (255 = water to search) at `width` x `height`, e.g. the detector's scale."""
        sx, sy = width / self.width, height / self.height

        def pixels(points: Sequence[Point]) -> np.ndarray:
            return np.array([[round(x * sx), round(y * sy)] for x, y in points], np.int32)

        if self.water:
            mask = np.zeros((height, width), np.uint8)
            cv2.fillPoly(mask, [pixels(self.water)], 255)
        else:
            mask = np.full((height, width), 255, np.uint8)
        for polygon in self.masks:
            cv2.fillPoly(mask, [pixels(polygon)], 0)
        return mask

    def segments(self, width: int, height: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """Each boundary from the frame's top to its bottom at `width` x `height`, for drawing
        and for clearing ropes."""
        sx = width / self.width
        return [
            ((round(line_x(line, 0) * sx), 0),
             (round(line_x(line, self.height) * sx), height - 1))
            for line in self.boundaries
        ]  # fmt: skip


def pool_geometry(lanes: int, pool: PoolConfig, width: int, height: int) -> PoolGeometry:
    """`detector.lanes` and the `[pool]` section for a `width` x `height` frame."""
    return PoolGeometry.from_config(width, height, lanes, pool.lane_lines, pool.water, pool.masks)


def geometry_of(config: Config, width: int, height: int) -> PoolGeometry:
    return pool_geometry(config.detector.lanes, config.pool, width, height)
