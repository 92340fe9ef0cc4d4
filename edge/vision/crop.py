"""Cutting the embedding model's input out of a frame: one portrait crop per detection.

The model was trained on crops like 180x280 with the swimmer centred and some water around
them. A detector's box is tight, so each box is grown by `MARGIN` and then widened or
heightened (never shrunk) to the model's width/height aspect; the embedder's resize then does
not squash the swimmer. Near a frame edge the window is slid inwards rather than cut, keeping
the aspect; only a window larger than the frame is clipped.

When the lanes are known (`PoolGeometry.lane_map`), a crop keeps only its own lane: every pixel
of another lane or on a rope becomes the median colour of its lane's water. At real
proportions (three swimmers to a 2.5 m lane, a pole camera) a portrait window around a swimmer
reaches over the rope, and the rope's floats are red, navy and white: a cap's and a suit's
colours, in a different place in every crop.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from edge.types import Box, Crop, Detection, Frame

MARGIN = 0.15  # grow each side of a box by this fraction of its size before fixing the aspect
FILL_STEP = 3  # the fill colour is the median of every 3rd pixel of the lane each way


def crop_window(box: Box, aspect: float, width: int, height: int) -> Box:
    """The frame region cut for `box`: margin, `aspect` (= width / height), kept in frame."""
    cx, cy = box.center
    w = box.w * (1 + 2 * MARGIN)
    h = box.h * (1 + 2 * MARGIN)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    x0 = _slide(cx - w / 2, w, width)
    y0 = _slide(cy - h / 2, h, height)
    window = Box(round(x0), round(y0), round(w), round(h))
    return window.clip(width, height)


def _slide(start: float, size: float, limit: int) -> float:
    """Move [start, start + size) inside [0, limit) when it fits; else leave it to clipping."""
    if size >= limit:
        return (limit - size) / 2
    return min(max(start, 0.0), limit - size)


def cut_crops(
    frame: Frame,
    detections: Sequence[Detection],
    aspect: float,
    lanes: np.ndarray | None = None,
) -> list[Crop]:
    """RGB crops for the detections with a non-empty box (`croppable`); with the frame's
    `lanes` map, each cut down to the lane of its box's centre (`cut_crop`).

    `Crop.box` is the detection's own box (not the grown window), so the caller can tell which
    detections were cropped: a zero-area or fully out-of-frame box gives no crop.
    """
    if aspect <= 0:
        raise ValueError(f"aspect must be > 0, got {aspect}")
    height, width = frame.image.shape[:2]
    return [cut_crop(frame, d.box, aspect, lanes) for d in detections
            if croppable(d.box, width, height)]  # fmt: skip


def croppable(box: Box, width: int, height: int) -> bool:
    """Whether `box` gives a crop in a frame of that size: not empty, not all out of frame."""
    return box.area > 0 and box.clip(width, height).area > 0


def cut_crop(frame: Frame, box: Box, aspect: float, lanes: np.ndarray | None = None) -> Crop:
    """The RGB crop of a `croppable` box: its window (`crop_window`), with the frame's
    `lanes` map cut down to the lane of the box's centre (`own_lane`). One at a time, for the
    daemon cuts only the crops it describes (on the club session some 5 of 21 a frame)."""
    height, width = frame.image.shape[:2]
    window = crop_window(box, aspect, width, height)
    patch = frame.image[window.y : window.y + window.h, window.x : window.x + window.w]
    if lanes is not None:
        x, y = (int(v) for v in box.center)
        lane = lanes[min(max(y, 0), height - 1), min(max(x, 0), width - 1)]
        patch = own_lane(patch, lanes[window.y : window.y + window.h,
                                      window.x : window.x + window.w], lane)  # fmt: skip
    return Crop(frame_index=frame.index, box=box, image=cv2.cvtColor(patch, cv2.COLOR_BGR2RGB))


def own_lane(patch: np.ndarray, lanes: np.ndarray, lane: int) -> np.ndarray:
    """`patch` with every pixel outside `lane` (per its `lanes` map) in the lane's median
    colour; unchanged when the box's centre is on no lane (a rope, the deck)."""
    if lane == 0:
        return patch
    inside = cv2.compare(lanes, int(lane), cv2.CMP_EQ)  # 255 in the lane
    if cv2.countNonZero(inside) in (0, inside.size):
        return patch
    step = slice(None, None, FILL_STEP)
    sample = patch[step, step][inside[step, step] > 0]
    if not len(sample):
        return patch
    colour = (*np.median(sample, axis=0).tolist(), 0)
    out = cv2.bitwise_and(patch, patch, mask=inside)  # the lane, and black outside it...
    cv2.add(out, colour, dst=out, mask=cv2.bitwise_not(inside))  # ...made the lane's colour
    return out
