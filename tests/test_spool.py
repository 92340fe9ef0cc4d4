"""The event spool: durable FIFO, bounded with a counted and logged drop policy, typed errors."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge.config import DeviceConfig, SpoolConfig
from edge.errors import SpoolError
from edge.mqtt.events import Event
from edge.mqtt.spool import SPOOL_FILENAME, Spool

REPO = Path(__file__).resolve().parents[1]


def event(i: int) -> Event:
    return Event("new", 1000.0 + i, "pi", "cam0", i, str(i % 3), 0.9, (1, 2, 30, 40), i)


def test_events_come_back_in_order_and_leave_only_when_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_events=10)
    sent = [event(i) for i in range(5)]
    rows = [spool.put(e) for e in sent]
    assert len(spool) == 5
    waiting = spool.peek()
    assert [w.row_id for w in waiting] == rows
    assert [Event.from_json(w.payload) for w in waiting] == sent
    assert [w.event_id for w in spool.peek(after=rows[1], limit=2)] == [
        sent[2].event_id,
        sent[3].event_id,
    ]
    spool.remove(rows[0])
    spool.remove(rows[0])  # removing twice (a duplicate PUBACK) is harmless
    assert len(spool) == 4
    assert spool.peek(limit=1)[0].event_id == sent[1].event_id


def test_survives_reopening_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state" / "s.db"  # the state directory is created when missing
    spool = Spool(path)
    sent = [event(1), event(2)]
    for e in sent:
        spool.put(e)
    spool.close()
    again = Spool(path)
    assert [w.event_id for w in again.peek()] == [e.event_id for e in sent]
    assert len(again) == 2
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_from_config_lives_in_the_state_directory(tmp_path: Path) -> None:
    device = DeviceConfig(state_dir=str(tmp_path / "state"))
    spool = Spool.from_config(device, SpoolConfig(max_events=7, on_full="drop_newest"))
    assert spool.path == tmp_path / "state" / SPOOL_FILENAME
    assert (spool.max_events, spool.on_full) == (7, "drop_newest")


def test_drop_oldest_at_the_bound_is_counted_and_logged(tmp_path: Path, caplog) -> None:
    spool = Spool(tmp_path / "s.db", max_events=3, on_full="drop_oldest")
    with caplog.at_level(logging.WARNING, logger="edge.mqtt.spool"):
        for i in range(5):
            spool.put(event(i))
    assert len(spool) == 3
    assert [Event.from_json(w.payload).frame for w in spool.peek()] == [2, 3, 4]
    assert spool.dropped == 2
    assert sum("spool full" in r.getMessage() for r in caplog.records) == 2


def test_drop_newest_at_the_bound_keeps_the_old_ones(tmp_path: Path, caplog) -> None:
    spool = Spool(tmp_path / "s.db", max_events=2, on_full="drop_newest")
    with caplog.at_level(logging.WARNING, logger="edge.mqtt.spool"):
        results = [spool.put(event(i)) for i in range(4)]
    assert results[2:] == [None, None]
    assert [Event.from_json(w.payload).frame for w in spool.peek()] == [0, 1]
    assert spool.dropped == 2
    assert "drop_newest" in caplog.text


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match="max_events"):
        Spool(tmp_path / "s.db", max_events=0)
    with pytest.raises(SpoolError, match="on_full"):
        Spool(tmp_path / "s.db", on_full="drop_everything")  # type: ignore[arg-type]


def test_unopenable_spool_is_a_spool_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(SpoolError, match=r"event spool .*file/s\.db: cannot open"):
        Spool(not_a_dir / "s.db")


def test_spool_locked_by_another_process_is_a_spool_error(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", busy_timeout_s=0.1)
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. a second daemon on the same state directory
    try:
        with pytest.raises(SpoolError, match="cannot store an event: database is locked"):
            spool.put(event(1))
    finally:
        other.execute("ROLLBACK")
    assert spool.put(event(2)) is not None  # usable again once the lock is gone


CHILD = """
import resource, signal, sys
from edge.errors import SpoolError
from edge.mqtt.events import Event
from edge.mqtt.spool import Spool
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
spool = Spool(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
try:
    for i in range(100_000):
        spool.put(Event("new", 1.0, "pi", "cam0", i, None, 0.5, (0, 0, 9, 9), i))
except SpoolError as error:
    print(f"SpoolError after {i} events: {error}")
"""


def test_a_full_disk_is_a_spool_error(tmp_path: Path) -> None:
    """A file-size limit makes the disk 'full' for this child process only."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = textwrap.dedent(CHILD)
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "s.db")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "SpoolError after" in result.stdout
    assert "cannot store an event" in result.stdout
    assert str(tmp_path / "s.db") in result.stdout
