"""Soak: the real daemon for a long run on a looping pool video; memory and frame rate over time.

    python bench/soak.py --bundle BUNDLE [--data DIR] [--minutes 10] [--out JSON]

`reid-edge` runs as its own process (as under systemd) against a local Mosquitto. Every
`--every` seconds this samples its resident memory (VmRSS) and takes the fps from the daemon's
own `stats` message. Growth is measured from the end of a warm-up (interpreter, caches, SQLite
pages settle) to the end; the goal is ≤ 5 MB with a steady frame rate. SIGTERM ends the run,
which must exit 0 with the spool empty.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from machine import cpu_name  # noqa: E402

from demo.broker import start_broker  # noqa: E402
from demo.run import later_frames  # noqa: E402
from edge.config import render_toml  # noqa: E402
from train.poolsim import simulate_pool  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "swimmers"
DEFAULT_OUT = REPO / "bench" / "results" / "soak.json"
BIN = Path(sys.executable).parent
GOAL_GROWTH_MB = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def write_config(folder: Path, video: Path, bundle: Path, port: int, every: float) -> Path:
    path = folder / "soak.toml"
    tables = {
        "device": {"name": "soak", "state_dir": str(folder / "state")},
        "source": {"kind": "video", "uri": str(video), "loop": True},
        "bundle": {"path": str(bundle)},
        "mqtt": {"host": "127.0.0.1", "port": port, "prefix": "soak", "stats_interval_s": every},
    }
    path.write_text(render_toml(tables))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the baseline")
    parser.add_argument("--every", type=float, default=10.0, help="sampling period, seconds")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    broker = start_broker()
    fps: list[float] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, m: fps.append(json.loads(m.payload)["fps"])
    client.connect(broker.host, broker.port)
    client.subscribe("soak/+/stats")
    client.loop_start()
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = later_frames(args.data)
        video = simulate_pool(frames, folder / "pool.avi", folder / "truth.json", frames=300)
        config = write_config(folder, video, args.bundle.resolve(), broker.port, args.every)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        daemon = subprocess.Popen([str(BIN / "reid-edge"), "--config", str(config)], env=env)
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < args.minutes * 60:
            time.sleep(args.every)
            samples.append((round(elapsed, 1), round(rss_mb(daemon.pid), 2)))
        daemon.send_signal(signal.SIGTERM)
        exit_code = daemon.wait(timeout=60)
    client.loop_stop()
    broker.stop()

    after_warmup = [rss for t, rss in samples if t >= args.warmup]
    steady = fps[1:-1] or fps  # the first report includes start-up, the last a partial interval
    growth = after_warmup[-1] - after_warmup[0]
    result = {
        "what": "reid-edge on a looping simulated 8-lane 1280x720 video, unthrottled",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "cpu": cpu_name(),
        "minutes": args.minutes,
        "rss_mb": {
            "after_warmup": after_warmup[0],
            "end": after_warmup[-1],
            "max": max(after_warmup),
        },
        "growth_mb": round(growth, 2),
        "fps": {
            "mean": round(statistics.mean(steady), 2),
            "min": min(steady),
            "max": max(steady),
            "cv": round(statistics.pstdev(steady) / statistics.mean(steady), 3),
        },
        "exit_code": exit_code,
        "samples": samples,
        "goal_growth_mb": GOAL_GROWTH_MB,
        "meets_goal": growth <= GOAL_GROWTH_MB and exit_code == 0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
