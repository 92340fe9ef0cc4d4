"""Frames per second and milliseconds per stage of the real daemon on a 1280×720 8-lane video.

    python bench/pipeline.py --bundle BUNDLE [--data DIR] [--frames N] [--out JSON]

Also the embedding budget (`tracker.embed_interval`): the cost per frame against swimmers in
view (1, 8 and 24: synthetic swimmers; for 24, three to a lane circle swimming at real
proportions, detector.swimmer_width 0.2), describing every crop or on the default schedule,
and the tracks' answers on the real crops' video both ways.

The daemon runs in this process on one thread (interpreter, OpenCV and BLAS threads = 1),
publishing to a local Mosquitto; the figures are the daemon's own `stats` message covering the
whole video (decode, detect, crop, embed, track (linking and naming), publish), read back over MQTT.
The pool is simulated from the crops' later (time-split test) frames, 8 swimmers at most.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import paho.mqtt.client as mqtt
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from machine import cpu_name  # noqa: E402

from demo.broker import start_broker  # noqa: E402
from demo.run import later_frames  # noqa: E402
from demo.score import score_tracks  # noqa: E402
from edge.config import Config, TrackerConfig, parse_config  # noqa: E402
from edge.daemon import Daemon  # noqa: E402
from train.poolsim import sequences_from_folder, simulate_pool  # noqa: E402
from train.synth import generate_dataset  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "swimmers"
DEFAULT_OUT = REPO / "bench" / "results" / "pipeline.json"
GOAL_FPS = 25.0
GOAL_DETECT_SHARE = 0.25


def measure(
    bundle: Path,
    video: Path,
    folder: Path,
    sections: dict | None = None,
    daemon: Callable[[Config], Daemon] = Daemon,
) -> dict:
    """Run the daemon over `video` and return its closing stats, with the events it sent;
    `sections`: config tables (tracker, detector, pool) on top of the defaults; `daemon`
    makes the daemon (one that records more). On one thread: OpenCV's, and the BLAS's that
    numpy multiplies the gallery with (two threads on this 2-core host otherwise)."""
    cv2.setNumThreads(1)
    broker = start_broker()
    stats: list[dict] = []
    events: list[dict] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    on = {"stats": stats, "events": events}
    client.on_message = lambda _c, _u, m: on[m.topic.rsplit("/", 1)[1]].append(
        json.loads(m.payload)
    )
    client.connect(broker.host, broker.port)
    client.subscribe([("bench/+/stats", 0), ("bench/+/events", 1)])
    client.loop_start()
    config = parse_config(
        {
            "device": {"name": "bench", "state_dir": str(folder / "state")},
            "source": {"kind": "video", "uri": str(video)},
            "bundle": {"path": str(bundle), "threads": 1},
            **(sections or {}),
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "prefix": "bench",
                "stats_interval_s": 3600.0,
            },
        }
    )
    try:
        with threadpool_limits(limits=1):
            daemon(config).run(threading.Event())
        threading.Event().wait(1.0)
    finally:
        client.loop_stop()
        broker.stop()
    return {**stats[-1], "events": events}  # the closing report: every frame after the first


IN_VIEW = (1, 8, 24)
LANES = 8


def budget(bundle: Path, frames: int, folder: Path) -> list[dict]:
    """ms per frame and crops described per frame, against swimmers in view and the interval."""
    crops = generate_dataset(folder / "synthetic", identities=max(IN_VIEW), frames=40, seed=0)
    everyone = sequences_from_folder(crops)
    rows = []
    for count in IN_VIEW:
        chosen = dict(sorted(everyone.items())[:count])
        per_lane = -(-count // LANES)  # three to a lane for 24
        video = simulate_pool(chosen, folder / f"in_view_{count}.avi", folder / "t.json", frames,
                              lanes=LANES, max_per_lane=per_lane)  # fmt: skip
        # Three to a lane are narrow (a fifth of a lane wide) and small: the detector is told so.
        detector = {"swimmer_width": 0.2, "min_area_frac": 0.0002} if per_lane > 1 else {}
        for interval in (1, TrackerConfig().embed_interval):
            sections = {"tracker": {"embed_interval": interval}, "detector": detector}
            got = measure(bundle, video, folder, sections)
            stage = got["stage_ms"]
            rows.append({"in_view": count, "embed_interval": interval, "fps": got["fps"],
                         "frame_ms": round(sum(stage.values()), 2), "embed_ms": stage["embed"],
                         "crops_per_frame": got.get("crops_per_frame", 0.0),
                         "embedded_per_frame": got.get("embedded_per_frame", 0.0)})  # fmt: skip
    return rows


def identity(bundle: Path, video: Path, truth: Path, folder: Path) -> dict:
    """The tracks' answers on the real crops' video, every crop described or on the schedule."""
    plan = json.loads(truth.read_text())
    answers = {}
    for interval in (1, TrackerConfig().embed_interval):
        events = measure(bundle, video, folder, {"tracker": {"embed_interval": interval}})["events"]
        score = score_tracks(events, plan)
        answers[str(interval)] = {"tracks": len(score.announced), "right": score.right}
    return answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = simulate_pool(
            later_frames(args.data), folder / "pool.avi", folder / "truth.json", args.frames
        )
        final = measure(args.bundle, video, folder)
        rows = budget(args.bundle, args.frames, folder)
        answers = identity(args.bundle, video, folder / "truth.json", folder)
    stage_ms = final["stage_ms"]
    frame_ms = sum(stage_ms.values())
    result = {
        "what": "reid-edge on a simulated 1280x720 8-lane pool video, one thread",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "cpu": cpu_name(),
        "load_average": os.getloadavg()[0],
        "frames": final["frames"],
        "fps": final["fps"],
        "stage_ms": stage_ms,
        "frame_ms": round(frame_ms, 3),
        "detect_share": round(stage_ms["detect"] / frame_ms, 3),
        "largest_stage": max(stage_ms, key=stage_ms.get),
        "goals": {"fps": GOAL_FPS, "detect_share_max": GOAL_DETECT_SHARE},
        "embed_interval": TrackerConfig().embed_interval,
        "budget": rows,
        "identity_by_interval": answers,
    }
    result["meets_goals"] = (
        result["fps"] >= GOAL_FPS and result["detect_share"] <= GOAL_DETECT_SHARE
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
