"""No event lost: the real daemon against a real Mosquitto that goes away, and a daemon that is
killed outright. "Produced" is what the daemon logged as spooled (`-v`); "received" is what a
persistent QoS 1 subscriber got. Duplicates are allowed, losses are not."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest
from broker import Broker, Collector, wait_until
from pipeline_support import BIN, QUIET_TF, Pool, daemon_config

pytestmark = pytest.mark.slow

SPOOLED = re.compile(r"event ([0-9a-f]{32}) spooled")
OUTAGE_S = 10.0
LOOP_FRAMES = 120  # of the pool video's 240


def start_daemon(config: Path, log: Path) -> subprocess.Popen:
    with log.open("a") as handle:
        return subprocess.Popen(
            [str(BIN / "reid-edge"), "--config", str(config), "-v"],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=QUIET_TF,
        )


def produced(log: Path) -> set[str]:
    return set(SPOOLED.findall(log.read_text()))


def received(collector: Collector) -> set[str]:
    return {
        re.search(rb'"event_id":"([0-9a-f]+)"', p).group(1).decode()
        for p in collector.payloads("/events")
    }


def wait_for_events(log: Path, at_least: int, timeout: float = 60.0) -> None:
    assert wait_until(lambda: len(produced(log)) >= at_least, timeout=timeout), log.read_text()[
        -2000:
    ]


def assert_all_delivered(log: Path, collector: Collector) -> None:
    """Every event the daemon spooled so far reaches the subscriber while the daemon runs."""
    sent = produced(log)
    delivered = wait_until(lambda: sent <= received(collector), timeout=30)
    assert delivered, f"{len(sent - received(collector))} of {len(sent)} events lost"


def stop(daemon: subprocess.Popen) -> None:
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=60) == 0


@dataclass
class Run:
    """A persistent broker, a persistent QoS 1 subscriber, and the daemon producing events."""

    broker: Broker
    collector: Collector
    config: Path
    log: Path
    daemon: subprocess.Popen


def first_frames(video: Path, out: Path, count: int) -> Path:
    """The video's first `count` frames: looped, every swimmer jumps back half a length, so
    its track ends and a new one starts at every loop (the whole video's swimmers end about
    where they began, and a good tracker then sends nothing)."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for _ in range(count):
        ok, image = capture.read()
        assert ok, f"{video} has fewer than {count} frames"
        writer.write(image)
    capture.release()
    writer.release()
    return out


@pytest.fixture
def run(pool: Pool, make_broker, tmp_path: Path):
    broker = make_broker(persistent=True)
    collector = Collector(broker.port, "reid/+/events", persistent=True)
    video = first_frames(pool.video, tmp_path / "half.avi", LOOP_FRAMES)
    config = daemon_config(tmp_path, pool, broker.port, uri=str(video), loop=True, fps=25.0)
    log = tmp_path / "daemon.log"
    daemon = start_daemon(config, log)
    try:
        wait_for_events(log, 3)
        yield Run(broker, collector, config, log, daemon)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        collector.close()


def test_a_ten_second_broker_outage_loses_no_event(run: Run) -> None:
    """The outage lasts at least OUTAGE_S and until the daemon has spooled two more events (on
    a loaded host that can take longer), so events are waiting when the broker comes back."""
    try:
        run.broker.stop()
        away = time.monotonic()
        wait_for_events(run.log, len(produced(run.log)) + 2, timeout=120)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - away)))
        run.broker.start()
        wait_for_events(run.log, len(produced(run.log)) + 2)
        assert_all_delivered(run.log, run.collector)
    finally:
        stop(run.daemon)


def test_a_killed_daemon_loses_no_event(run: Run) -> None:
    run.broker.stop()  # so that events are waiting in the spool when the daemon dies
    wait_for_events(run.log, len(produced(run.log)) + 2)
    run.daemon.send_signal(signal.SIGKILL)
    run.daemon.wait(timeout=10)
    run.broker.start()
    daemon = start_daemon(run.config, run.log)  # same state directory: the same spool
    try:
        wait_for_events(run.log, len(produced(run.log)) + 2)
        assert_all_delivered(run.log, run.collector)
    finally:
        stop(daemon)
