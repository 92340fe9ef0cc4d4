"""`reid-edge --config FILE --snapshot OUT.png`: what the daemon sees, to aim the camera by.

One frame from the configured source goes through the daemon's own detector, crops and
Identifier (the bundle checked as the daemon checks it); the picture shows the lanes as the
config divides them (numbered; lines in perspective from `[pool] lane_lines`), the water it
searches (outside it and the ignore masks shaded), every detection's box with its lane, swimmer
and score, and a line per detection goes to stdout. A single frame is judged crop by crop (the
bundle's crop threshold), not by the track-level identity the running daemon uses, so an
"unknown" here may still be named once a track has its window of crops.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.config import Config
from edge.errors import ReidError, SourceError
from edge.geometry import PoolGeometry, geometry_of
from edge.probes import checked_identifier
from edge.sources import frames_until, open_source
from edge.types import Box, Frame, Prediction, line_x
from edge.vision.crop import cut_crops
from edge.vision.detect import make_detector

FIRST_FRAME_TIMEOUT_S = 10.0  # a camera takes a moment to deliver its first frame
READ_TIMEOUT_S = 0.5
LANE_COLOUR, KNOWN_COLOUR, UNKNOWN_COLOUR = (255, 255, 0), (0, 220, 0), (0, 0, 255)  # BGR
MASK_COLOUR = (60, 60, 60)  # shades what is not searched: outside the water, and the masks
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Seen:
    """One detection in the snapshot: where, in which lane (1-based; 0 = no lanes), and who."""

    box: Box
    lane: int
    prediction: Prediction

    def line(self) -> str:
        who = self.prediction.swimmer_id or "unknown"
        box = ",".join(str(v) for v in self.box.as_list())
        return f"lane {self.lane}\tbox {box}\tswimmer {who}\tscore {self.prediction.score:.3f}"


def take_snapshot(config: Config, out: Path) -> list[Seen]:
    """Grab a frame, detect and identify, write the annotated picture to `out`."""
    bundle, identifier = checked_identifier(config.bundle)
    frame = first_frame(config)
    detections = make_detector(config.detector, config.pool).detect(frame.image)
    height, width = frame.image.shape[:2]
    pool = geometry_of(config, width, height)
    aspect = bundle.input_width / bundle.input_height
    crops = cut_crops(frame, detections, aspect, pool.lane_map)
    predictions = identifier.identify([c.image for c in crops])
    seen = [Seen(c.box, pool.lane_of(c.box), p) for c, p in zip(crops, predictions, strict=True)]
    picture = draw(frame.image, pool, seen)
    if not cv2.imwrite(str(out), picture):
        raise ReidError(f"{out}: cannot write the snapshot (a .png or .jpg path in a folder)")
    return seen


def first_frame(config: Config) -> Frame:
    source = open_source(config.source)
    deadline = time.monotonic() + FIRST_FRAME_TIMEOUT_S
    try:
        frame = next(
            frames_until(source, lambda: time.monotonic() > deadline, READ_TIMEOUT_S), None
        )
    finally:
        source.close()
    if frame is None:
        raise SourceError(f"{config.source.uri}: no frame within {FIRST_FRAME_TIMEOUT_S:g} s")
    return frame


def draw(image: np.ndarray, pool: PoolGeometry, seen: list[Seen]) -> np.ndarray:
    """The frame (BGR) with the water's outline, the masks shaded, lane boundaries and numbers,
    and each detection's box and answer."""
    picture = image.copy()
    height, width = picture.shape[:2]
    scale = max(0.4, width / 2000)
    outside = pool.water_mask(width, height) == 0
    picture[outside] = (picture[outside] * 0.4 + np.array(MASK_COLOUR) * 0.6).astype(np.uint8)
    for start, end in pool.segments(width, height):
        cv2.line(picture, start, end, LANE_COLOUR, 1, cv2.LINE_AA)
    label_y = round(48 * scale)
    for lane in range(pool.lanes):
        x = round(line_x(pool.boundaries[lane], label_y)) + 4
        cv2.putText(picture, f"lane {lane + 1}", (x, label_y), FONT, scale, LANE_COLOUR, 1,
                    cv2.LINE_AA)  # fmt: skip
    for item in seen:
        box, who = item.box, item.prediction.swimmer_id
        colour = KNOWN_COLOUR if who is not None else UNKNOWN_COLOUR
        cv2.rectangle(picture, (box.x, box.y), (box.x + box.w, box.y + box.h), colour, 2)
        label = f"{who or 'unknown'} {item.prediction.score:.2f}"
        cv2.putText(picture, label, (box.x, max(12, box.y - 6)), FONT, scale, colour, 1,
                    cv2.LINE_AA)  # fmt: skip
    return picture
