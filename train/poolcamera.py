"""A camera on a pole at the pool's near end, for the simulator: the top view seen in perspective.

The painted top view is warped by a homography that narrows the far (top) end to
`1 - perspective` of the frame's width, centred, and shows the deck around the water. Truth
boxes go through the same homography (the box of the four mapped corners), and the lane
boundaries become the converging lines a user gives the daemon in `[pool] lane_lines`, in
normalised coordinates, written into the truth so tests and benchmarks configure the daemon
from it. A crude camera (no foreshortening along the pool, no lens), but it moves lanes off
equal columns, shrinks far swimmers and brings the deck into view, which is what a pole-mounted
camera does to the daemon.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DECK_BGR = (150, 170, 185)  # pale concrete around the water


@dataclass(frozen=True)
class PoleCamera:
    width: int
    height: int
    perspective: float  # 0 = straight above; 0.4 = the far end 60 % as wide as the near end

    @property
    def homography(self) -> np.ndarray:
        w, h, inset = self.width, self.height, self.perspective * self.width / 2
        top = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        seen = np.float32([[inset, 0], [w - inset, 0], [w, h], [0, h]])
        return cv2.getPerspectiveTransform(top, seen)

    def view(self, bgr: np.ndarray) -> np.ndarray:
        """The frame as the pole camera sees it."""
        return cv2.warpPerspective(bgr, self.homography, (self.width, self.height),
                                   flags=cv2.INTER_LINEAR, borderValue=DECK_BGR)  # fmt: skip

    def points(self, xy: np.ndarray) -> np.ndarray:
        """Top-view pixel points (N, 2) to camera pixels."""
        mapped = cv2.perspectiveTransform(np.float32(xy).reshape(-1, 1, 2), self.homography)
        return mapped.reshape(-1, 2)

    def box(self, box: list[int]) -> list[int]:
        x, y, w, h = box
        corners = self.points([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        return [x0, y0, min(int(x1), self.width) - x0, min(int(y1), self.height) - y0]

    def lane_lines(self, lanes: int) -> list[list[list[float]]]:
        """Every lane boundary (outer ones included) as two normalised points, left to right."""
        tops = [[self.width * k / lanes, 0] for k in range(lanes + 1)]
        bottoms = [[x, self.height] for x, _ in tops]
        ends = zip(self._normalised(tops), self._normalised(bottoms), strict=True)
        return [[top, bottom] for top, bottom in ends]

    def water(self) -> list[list[float]]:
        """The water's outline, normalised."""
        w, h = self.width, self.height
        return self._normalised([[0, 0], [w, 0], [w, h], [0, h]])

    def _normalised(self, top_view: list[list[float]]) -> list[list[float]]:
        """Top-view pixel points as camera points in 0..1, JSON-ready floats."""
        size = np.array([self.width, self.height], np.float64)
        return [[round(float(v), 4) for v in p / size] for p in self.points(top_view)]
