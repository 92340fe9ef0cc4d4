"""The systemd watchdog sees a stuck camera: the daemon pings WATCHDOG=1 only when frames are
processed (or the camera is in a bounded reopen back-off), so a source that stops delivering
gets the service restarted instead of being kept "alive" forever."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_bundle import build_bundle

import edge.daemon
from edge.config import parse_config
from edge.daemon import Daemon
from edge.types import Frame

WATCHDOG_USEC = 200_000  # WatchdogSec=0.2 s: a ping due every 0.1 s
RUN_S = 1.5
CLOSED_PORT = 9  # nothing listens there: the publisher spools and retries, which is fine here


class StuckSource:
    """A camera that opened and then never delivers a frame (a hung driver)."""

    reconnecting = False

    def read(self, timeout_s: float) -> Frame | None:
        time.sleep(timeout_s)
        raise TimeoutError("no frame")

    def close(self) -> None:
        pass


class ReopeningSource(StuckSource):
    """A camera that dropped and is being reopened with a bounded back-off."""

    reconnecting = True


class SteadySource(StuckSource):
    """Empty blue water, 50 frames a second."""

    def __init__(self) -> None:
        self.index = 0

    def read(self, timeout_s: float) -> Frame | None:
        time.sleep(0.02)
        self.index += 1
        return Frame(self.index, time.time(), np.full((120, 160, 3), (208, 166, 56), np.uint8))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("tiny"))[1]


def run_under_systemd(source, bundle: Path, tmp_path: Path, monkeypatch) -> list[bytes]:
    """Run the daemon on `source` for RUN_S with a notify socket and a watchdog; its messages."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    listener.settimeout(0.2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    monkeypatch.setattr(edge.daemon, "open_source", lambda cfg: source)
    config = parse_config(
        {
            "device": {"state_dir": str(tmp_path / "state")},
            "bundle": {"path": str(bundle)},
            "mqtt": {"host": "127.0.0.1", "port": CLOSED_PORT},
        }
    )
    daemon = Daemon(config)
    stop = threading.Event()
    thread = threading.Thread(target=daemon.run, args=(stop,))
    thread.start()
    messages: list[bytes] = []
    deadline = time.monotonic() + RUN_S
    while time.monotonic() < deadline:
        try:
            messages.append(listener.recv(4096))
        except TimeoutError:
            continue
    stop.set()
    thread.join(30)
    listener.close()
    return messages


def pings(messages: list[bytes]) -> int:
    return sum(m == b"WATCHDOG=1" for m in messages)


def test_frames_keep_the_watchdog_fed(bundle, tmp_path, monkeypatch) -> None:
    messages = run_under_systemd(SteadySource(), bundle, tmp_path, monkeypatch)
    assert messages[0].startswith(b"READY=1")
    assert pings(messages) >= 5  # about one every 0.1 s for 1.5 s


def test_a_camera_that_never_delivers_starves_the_watchdog(bundle, tmp_path, monkeypatch) -> None:
    messages = run_under_systemd(StuckSource(), bundle, tmp_path, monkeypatch)
    assert messages[0].startswith(b"READY=1")
    assert pings(messages) <= 1  # at most the one due at start-up, then silence


def test_a_bounded_reopen_back_off_counts_as_progress(bundle, tmp_path, monkeypatch) -> None:
    messages = run_under_systemd(ReopeningSource(), bundle, tmp_path, monkeypatch)
    # The loop looks up from a read every READ_TIMEOUT_S (0.5 s): a ping each time in 1.5 s.
    assert pings(messages) >= 3
