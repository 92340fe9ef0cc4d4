"""Lanes in perspective: the daemon's detector and tracker on a pole camera's view, with the
lane geometry in `[pool]` and without it (equal columns).

    python bench/geometry.py [--data DIR] [--frames N] [--perspective P]

A simulated session of the real crops' later frames, 8 lanes, one swimmer per lane, filmed
from a pole at the near end (train/poolcamera.py: the far end `1 - P` as wide). A detection is
right when its centre lies in a swimmer's pasted crop (one detection per swimmer); its lane is
right when the geometry puts it in that swimmer's lane. Tracks per swimmer count the tracks
the daemon would announce (at least `settle_crops` boxes on the swimmer) per swimmer: how often
the tracker (its same-lane rule from the same geometry) lost a swimmer and started again. Writes
bench/results/geometry.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from machine import cpu_name

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from demo.run import later_frames  # noqa: E402
from demo.score import match_detections  # noqa: E402
from edge.config import DetectorConfig, PoolConfig, SourceConfig, TrackerConfig  # noqa: E402
from edge.geometry import pool_geometry  # noqa: E402
from edge.sources import open_source  # noqa: E402
from edge.tracking.track import Tracker, name_no_one  # noqa: E402
from edge.vision.detect import make_detector  # noqa: E402
from train.poolsim import simulate_pool  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "swimmers"
WORK = REPO / "bench" / "work" / "geometry"
OUT = REPO / "bench" / "results" / "geometry.json"
LANES = 8


def score(video: Path, truth: dict, pool: PoolConfig) -> dict:
    """Detection and lane figures, and tracks per swimmer, for one geometry."""
    detector = make_detector(DetectorConfig(lanes=LANES), pool)
    geometry = pool_geometry(LANES, pool, truth["width"], truth["height"])
    tracker = Tracker(TrackerConfig(), name_no_one, geometry.lane_of)
    source = open_source(SourceConfig(kind="video", uri=str(video)))
    found = wrong = missed = right_lane = 0
    boxes_on: dict[int, int] = {}  # track key -> boxes that fell on a swimmer
    started = time.perf_counter()
    while (frame := source.read(1.0)) is not None:
        swimmers = truth["frames"][frame.index]["swimmers"]
        detections = detector.detect(frame.image)
        tracker.update(frame.index, detections, [[0.0]] * len(detections))
        keys = dict(zip([d.box for d in detections], tracker.keys, strict=True))
        pairs, off = match_detections([d.box for d in detections], swimmers)
        found, wrong, missed = found + len(pairs), wrong + off, missed + len(swimmers) - len(pairs)
        for box, swimmer in pairs:
            right_lane += geometry.lane_of(box) == swimmer["lane"] + 1
            boxes_on[keys[box]] = boxes_on.get(keys[box], 0) + 1
    source.close()
    announced = [k for k, boxes in boxes_on.items() if boxes >= TrackerConfig().settle_crops]
    swimmers = {s["identity"] for f in truth["frames"] for s in f["swimmers"]}
    return {
        "recall": round(found / (found + missed), 4),
        "precision": round(found / max(found + wrong, 1), 4),
        "lane_right": round(right_lane / max(found, 1), 4),
        "tracks_per_swimmer": round(len(announced) / len(swimmers), 2),
        "ms_per_frame": round(1000 * (time.perf_counter() - started) / len(truth["frames"]), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--perspective", type=float, default=0.4)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    video = simulate_pool(later_frames(args.data), WORK / "pole.avi", WORK / "pole.json",
                          args.frames, lanes=LANES, perspective=args.perspective)  # fmt: skip
    truth = json.loads((WORK / "pole.json").read_text())
    lines = PoolConfig(lane_lines=truth["lane_lines"], water=truth["water"])
    results = {
        "cpu": cpu_name(),
        "data": str(args.data),
        "frames": args.frames,
        "perspective": args.perspective,
        "with_pool_geometry": score(video, truth, lines),
        "equal_columns": score(video, truth, PoolConfig()),
    }
    OUT.write_text(json.dumps(results, indent=1) + "\n")
    sys.stdout.write(json.dumps(results, indent=1) + f"\nwrote {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
