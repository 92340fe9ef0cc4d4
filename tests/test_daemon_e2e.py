"""The real daemon, end to end: a simulated 8-lane pool video in, swimmer IDs out to a real
Mosquitto, read back by the real `reid-subscribe`. Nothing is mocked."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
from pipeline_support import BIN, QUIET_TF, Pool, daemon_config

from demo.score import score_tracks
from edge.events import event_schema

pytestmark = pytest.mark.slow


def start_subscriber(port: int) -> subprocess.Popen:
    subscriber = subprocess.Popen(
        [str(BIN / "reid-subscribe"), "--host", "127.0.0.1", "--port", str(port), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # subscribed before the daemon publishes its first event
    return subscriber


def collect(subscriber: subprocess.Popen, grace_s: float = 2.0) -> list[dict]:
    time.sleep(grace_s)
    subscriber.terminate()
    out, _ = subscriber.communicate(timeout=10)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_daemon_publishes_the_right_swimmer_ids(pool: Pool, broker, tmp_path: Path) -> None:
    subscriber = start_subscriber(broker.port)
    config = daemon_config(tmp_path, pool, broker.port)
    done = subprocess.run(
        [str(BIN / "reid-edge"), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        env=QUIET_TF,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    events = collect(subscriber)

    schema = event_schema()
    for event in events:
        jsonschema.validate(event, schema)
    assert len({e["event_id"] for e in events}) == len(events)

    score = score_tracks(events, json.loads(pool.truth.read_text()))
    assert len(score.announced) <= len(score.swimmers), f"tracks invented: {score}"
    assert score.accuracy >= 0.99, f"{score}"
    assert set(score.announced.values()) == score.swimmers
    ended = {e["track_id"] for e in events if e["type"] == "end"}
    assert ended == set(score.announced), "every track ends when the video does"
