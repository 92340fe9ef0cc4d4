"""sd_notify against a real unix datagram socket, path and abstract; a no-op without systemd."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from edge.notify import Notifier


@pytest.fixture
def listener(tmp_path: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(5)
    yield path, sock
    sock.close()


def test_messages_reach_a_path_socket(listener) -> None:
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": str(path)})
    assert notifier.enabled
    assert notifier.ready("loaded bundle")
    assert sock.recv(4096) == b"READY=1\nSTATUS=loaded bundle"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.status("12 fps\n3 tracks")  # a newline must not start a new field
    assert sock.recv(4096) == b"STATUS=12 fps 3 tracks"
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"


def test_messages_reach_an_abstract_socket() -> None:
    name = f"reid-test-notify-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(4096) == b"READY=1"


def test_without_systemd_it_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()
    assert notifier.watchdog_interval_s is None


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path, caplog) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert not notifier.watchdog()
    assert "cannot notify systemd" in caplog.text


def test_watchdog_interval_is_half_the_unit_setting() -> None:
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(env).watchdog_interval_s == 15.0
    assert Notifier({**env, "WATCHDOG_PID": "1"}).watchdog_interval_s is None
