"""Enrolling swimmers from the pool camera itself, as a site does: crops cut by the daemon's own
detector from a video of the session's start, named by who swam in that lane.

Why: a bundle trained and calibrated on one camera's crops meets another camera's crops at the
pool. The simulator re-renders every crop (scaled into a lane, blended onto new water, MJPEG)
and the detector frames it anew, and that alone moved some swimmers' track scores below the
thresholds calibrated on the original crops. `reid-enroll` with crops from the pool's own
camera puts that camera's look into the gallery and lowers the thresholds as far as the new
crops need, so nothing has to be overridden. Here the simulator's truth names the crops; at a
real pool a person does (the lane of a track, or a contact sheet).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from edge.config import DetectorConfig, SourceConfig
from edge.sources import open_source
from edge.vision.crop import cut_crops
from edge.vision.detect import make_detector

READ_TIMEOUT_S = 1.0


def collect_crops(video: Path, truth: Path, out: Path, aspect: float) -> Path:
    """Write OUT/<swimmer>/frame_<n>.jpg: every detection of the video whose lane held exactly
    one swimmer (truth), cut as the daemon cuts crops for a model of width/height `aspect`."""
    plan = json.loads(Path(truth).read_text())
    lane_width = plan["width"] / plan["lanes"]
    detector = make_detector(DetectorConfig(lanes=plan["lanes"]))
    source = open_source(SourceConfig(kind="video", uri=str(video)))
    try:
        while (frame := source.read(READ_TIMEOUT_S)) is not None:
            lanes: dict[int, list[str]] = {}
            for swimmer in plan["frames"][frame.index]["swimmers"]:
                lanes.setdefault(swimmer["lane"], []).append(swimmer["identity"])
            for crop in cut_crops(frame, detector.detect(frame.image), aspect):
                who = lanes.get(int(crop.box.center[0] // lane_width), [])
                if len(who) == 1:
                    folder = out / who[0]
                    folder.mkdir(parents=True, exist_ok=True)
                    path = folder / f"frame_{frame.index}.jpg"
                    cv2.imwrite(str(path), cv2.cvtColor(crop.image, cv2.COLOR_RGB2BGR))
    finally:
        source.close()
    return out
