"""The real daemon, end to end: a simulated 8-lane pool video in, swimmer IDs out to a real
Mosquitto, read back by the real `reid-subscribe`. Nothing is mocked, and nothing overrides the
bundle's calibrated thresholds: a stranger who looks like a swimmer in another lane is in the
water, and must be answered unknown."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
from pipeline_support import BIN, QUIET_TF, Pool, daemon_config

from demo.run import STRANGER
from demo.score import score_tracks
from edge.events import event_schema
from train.data import list_samples

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


def test_daemon_names_every_known_swimmer_and_not_the_stranger(
    pool: Pool, broker, tmp_path: Path
) -> None:
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

    enrolled = {s.identity for s in list_samples(pool.data)}
    score = score_tracks(events, json.loads(pool.truth.read_text()), enrolled)
    assert score.strangers == {STRANGER}
    assert len(score.announced) <= len(score.swimmers), f"tracks invented: {score}"
    assert score.accuracy >= 0.99, f"{score}"
    assert set(score.announced.values()) == set(enrolled) | {None}
    stranger_tracks = [t for t, who in score.truth.items() if who == STRANGER]
    assert stranger_tracks and all(score.announced[t] is None for t in stranger_tracks)
    ended = {e["track_id"] for e in events if e["type"] == "end"}
    assert ended == set(score.announced), "every track ends when the video does"
