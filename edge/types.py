"""Value objects passed between the stages of the device pipeline.

Frames are BGR uint8 (OpenCV's convention, no conversion per frame); crops are RGB uint8,
the order the embedding model was trained on (the bundle manifest says so too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels: top-left corner and size."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return max(self.w, 0) * max(self.h, 0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h

    def iou(self, other: Box) -> float:
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clip(self, width: int, height: int) -> Box:
        """The part of the box inside a `width`×`height` image (may have zero area)."""
        x0, y0 = min(max(self.x, 0), width), min(max(self.y, 0), height)
        x1, y1 = min(max(self.x + self.w, 0), width), min(max(self.y + self.h, 0), height)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


def line_x(line: Sequence[Sequence[float]], y: float) -> float:
    """Where the line through two points crosses height `y` (beyond the points too); a level
    line, which crosses no height, gives its middle."""
    (x0, y0), (x1, y1) = line
    if y1 == y0:
        return (x0 + x1) / 2
    return x0 + (x1 - x0) * (y - y0) / (y1 - y0)


@dataclass(frozen=True, eq=False)
class Frame:
    """One camera frame: BGR uint8, its index in the stream and its capture time (unix s)."""

    index: int
    ts: float
    image: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Detection:
    """A swimmer found in a frame, with the detector's confidence in [0, 1]."""

    box: Box
    score: float = 1.0


@dataclass(frozen=True, eq=False)
class Crop:
    """The pixels of one detection, RGB uint8, cut from a frame."""

    frame_index: int
    box: Box
    image: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Prediction:
    """The classifier's answer for one crop.

    `swimmer_id` is None when the evidence is too weak (an unknown swimmer); `candidate` is the
    nearest enrolled swimmer all the same, useful for logs and for calibration.
    """

    swimmer_id: str | None
    candidate: str
    score: float
