"""The real daemon, end to end: a simulated 8-lane pool video in, swimmer IDs out to a real
Mosquitto, read back by the real `reid-subscribe`. Nothing is mocked, and nothing overrides the
bundle's calibrated thresholds: a stranger who looks like a swimmer in another lane is in the
water, and must be answered unknown."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
from broker import Broker, wait_until
from lines import Lines
from pipeline_support import BIN, LANES, POOL_FRAMES, QUIET_TF, Pool, daemon_config

from demo.run import STRANGER, later_frames
from demo.score import score_tracks
from edge.mqtt.events import event_schema
from train.data import list_samples
from train.poolsim import simulate_pool

pytestmark = pytest.mark.slow


SPOOLED = re.compile(r"event ([0-9a-f]{32}) spooled")  # the daemon's -v line per event


def start_subscriber(broker: Broker) -> tuple[subprocess.Popen, Lines]:
    """`reid-subscribe --json`, returned once the broker has acknowledged its subscription."""
    subscriber = subprocess.Popen(
        [str(BIN / "reid-subscribe"), "--host", "127.0.0.1", "--port", str(broker.port), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert wait_until(lambda: "Sending SUBACK" in broker.log(), timeout=30), broker.log()
    return subscriber, Lines(subscriber)


def collect(subscriber: subprocess.Popen, printed: Lines, sent: set[str]) -> list[dict]:
    """What the subscriber printed, once every event the daemon spooled is among it."""

    def received() -> set[str]:
        return {json.loads(line)["event_id"] for line in list(printed.lines) if line}

    assert wait_until(lambda: sent <= received(), timeout=30), f"{len(sent - received())} lost"
    subscriber.terminate()
    subscriber.wait(timeout=10)
    return [json.loads(line) for line in printed.finish() if line]


def test_daemon_names_every_known_swimmer_and_not_the_stranger(
    pool: Pool, broker, tmp_path: Path
) -> None:
    subscriber, printed = start_subscriber(broker)
    config = daemon_config(tmp_path, pool, broker.port)
    done = subprocess.run(
        [str(BIN / "reid-edge"), "--config", str(config), "-v"],
        capture_output=True,
        text=True,
        timeout=300,
        env=QUIET_TF,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    sent = set(SPOOLED.findall(done.stderr))
    assert sent, done.stderr[-2000:]
    events = collect(subscriber, printed, sent)

    schema = event_schema()
    truth = json.loads(pool.truth.read_text())
    lane_width = truth["width"] / truth["lanes"]
    for event in events:
        jsonschema.validate(event, schema)
        x, _, w, _ = event["box"]
        assert event["lane"] == int((x + w / 2) // lane_width) + 1, event
    assert len({e["event_id"] for e in events}) == len(events)

    enrolled = {s.identity for s in list_samples(pool.data)}
    score = score_tracks(events, truth, enrolled)
    assert score.strangers == {STRANGER}
    assert len(score.announced) <= len(score.swimmers), f"tracks invented: {score}"
    assert score.accuracy >= 0.99, f"{score}"
    assert set(score.announced.values()) == set(enrolled) | {None}
    stranger_tracks = [t for t, who in score.truth.items() if who == STRANGER]
    assert stranger_tracks and all(score.announced[t] is None for t in stranger_tracks)
    ended = {e["track_id"] for e in events if e["type"] == "end"}
    assert ended == set(score.announced), "every track ends when the video does"


SUBMERGED = 25  # frames unseen after every turn: a one-second push-off glide at 25 fps


def test_a_swimmer_unseen_after_a_turn_is_named_again(pool: Pool, broker, tmp_path: Path) -> None:
    """Under water for a second after each push-off, a swimmer's track ends; the new track
    must be named the same swimmer again, by re-identification."""
    video = simulate_pool(later_frames(pool.data), tmp_path / "turns.avi", tmp_path / "t.json",
                          frames=POOL_FRAMES, lanes=LANES, submerged=SUBMERGED)  # fmt: skip
    truth = json.loads((tmp_path / "t.json").read_text())
    subscriber, printed = start_subscriber(broker)
    config = daemon_config(tmp_path, pool, broker.port, uri=str(video))
    done = subprocess.run([str(BIN / "reid-edge"), "--config", str(config), "-v"],
                          capture_output=True, text=True, timeout=300, env=QUIET_TF)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    events = collect(subscriber, printed, set(SPOOLED.findall(done.stderr)))
    enrolled = {s.identity for s in list_samples(pool.data)}
    score = score_tracks(events, truth, enrolled)
    assert len(score.announced) > len(score.swimmers), "no swimmer went under long enough"
    assert score.accuracy >= 0.99, f"{score}"


def test_with_rejoin_frames_a_swimmer_keeps_its_track_through_its_turns(
    pool: Pool, broker, tmp_path: Path
) -> None:
    """The same glides, with `tracker.rejoin_frames` two seconds: each swimmer is one track
    from start to end, named right."""
    video = simulate_pool(later_frames(pool.data), tmp_path / "turns.avi", tmp_path / "t.json",
                          frames=POOL_FRAMES, lanes=LANES, submerged=SUBMERGED)  # fmt: skip
    truth = json.loads((tmp_path / "t.json").read_text())
    subscriber, printed = start_subscriber(broker)
    rejoin = {"tracker": {"rejoin_frames": 2 * SUBMERGED}}
    config = daemon_config(tmp_path, pool, broker.port, rejoin, uri=str(video))
    done = subprocess.run([str(BIN / "reid-edge"), "--config", str(config), "-v"],
                          capture_output=True, text=True, timeout=300, env=QUIET_TF)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    events = collect(subscriber, printed, set(SPOOLED.findall(done.stderr)))
    score = score_tracks(events, truth, {s.identity for s in list_samples(pool.data)})
    assert len(score.announced) == len(score.swimmers), f"{score}"
    assert score.accuracy >= 0.99, f"{score}"
