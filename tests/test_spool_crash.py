"""The spool at the worst moments: a writer SIGKILLed inside a transaction, inside `remove()`,
and at random moments of a put/remove/checkpoint churn; a file SQLite cannot read; the pragmas
that make a put durable. After each, the spool reopens, passes SQLite's integrity check and holds
every event a `put()` returned for and no event a `remove()` returned for."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from broker import wait_until
from lines import Lines

from edge.errors import SpoolError
from edge.mqtt.events import Event
from edge.mqtt.spool import Spool

REPO = Path(__file__).resolve().parents[1]
CHILD = REPO / "tests" / "spool_child.py"
CHURN_KILLS = 6  # random-moment kills of the churning writer, all on the same file
FULL = 2  # PRAGMA synchronous: 2 is FULL, 1 is NORMAL


class Writer:
    """tests/spool_child.py in its own process; `lines` is what it has promised so far."""

    def __init__(self, path: Path, mode: str, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), str(path), mode, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self.output = Lines(self.process)

    @property
    def lines(self) -> list[str]:
        return self.output.lines

    def kill_when(self, line: str, timeout: float = 30.0) -> None:
        reached = wait_until(lambda: line in self.lines, timeout=timeout)
        self.kill()
        assert reached, f"the writer never printed {line!r}: {self.process.stderr.read()}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.output.finish()  # every line it printed before dying is in `lines`

    def frames(self, verb: str) -> set[int]:
        return {int(line.split()[1]) for line in list(self.lines) if line.startswith(verb)}


def reopened(path: Path) -> tuple[Spool, set[int]]:
    """The spool as the next start sees it, after SQLite's full integrity check."""
    check = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"
    spool = Spool(path)
    frames = [Event.from_json(row.payload).frame for row in spool.peek(limit=100_000)]
    assert len(frames) == len(set(frames)) == len(spool)
    return spool, set(frames)


def test_a_kill_between_insert_and_commit_keeps_what_was_promised(tmp_path: Path) -> None:
    """At the bound the drop of the oldest and the new insert commit together, or neither."""
    path = tmp_path / "s.db"
    writer = Writer(path, "before-commit")
    writer.kill_when("blocked")
    spool, frames = reopened(path)
    assert frames == writer.frames("put") == {0, 1, 2, 3, 4}  # the 6th never committed
    assert spool.put(Event("new", 1.0, "pi", "cam0", 5, None, 0.5, (0, 0, 9, 9), 5)) is not None


def test_a_kill_inside_remove_leaves_the_event_and_a_durable_spool(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    writer = Writer(path, "in-remove")
    writer.kill_when("blocked")
    spool, frames = reopened(path)
    assert frames == {0, 1, 2}  # sent again after the restart: a duplicate, never a loss
    assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == FULL


def test_remove_puts_synchronous_back_to_full_even_when_it_fails(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", busy_timeout_s=0.1)
    row = spool.put(Event("new", 1.0, "pi", "cam0", 1, None, 0.5, (0, 0, 9, 9), 1))
    spool.remove(row)
    assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == FULL
    row = spool.put(Event("new", 1.0, "pi", "cam0", 2, None, 0.5, (0, 0, 9, 9), 2))
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(SpoolError, match="cannot remove an acknowledged event"):
            spool.remove(row)
    finally:
        other.execute("ROLLBACK")
    assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == FULL
    assert spool._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.slow
def test_kills_at_random_moments_of_put_remove_and_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    chance = random.Random(16)
    for kill in range(CHURN_KILLS):
        writer = Writer(path, "churn", str(kill * 1_000_000))  # frames unique across writers
        wait_until(lambda w=writer: len(w.lines) > 30, timeout=30)
        threading.Event().wait(chance.uniform(0.0, 0.3))
        writer.kill()
        spool, frames = reopened(path)
        spool.close()
        removed = writer.frames("removed")
        promised = writer.frames("put") - removed
        in_removal = {max(writer.frames("put")) - 2}  # first of the last 3 puts: may be gone
        assert promised - in_removal <= frames, f"kill {kill}: lost {promised - frames}"
        assert not frames & removed, f"kill {kill}: removed events came back"


def test_an_unreadable_spool_is_moved_aside_and_a_new_one_started(tmp_path: Path, caplog):
    path = tmp_path / "events.sqlite3"
    path.write_bytes(b"this is not an SQLite database, a bad SD card wrote it" * 100)
    with caplog.at_level(logging.ERROR, logger="edge.mqtt.spool"):
        spool = Spool(path)
    aside = list(tmp_path.glob("events.sqlite3.corrupt-*"))
    assert [p.name for p in aside if not p.name.endswith(("-wal", "-shm"))] != []
    assert aside[0].read_bytes().startswith(b"this is not an SQLite database")  # kept as it was
    assert len(spool) == 0
    assert spool.put(Event("new", 1.0, "pi", "cam0", 1, None, 0.5, (0, 0, 9, 9), 1)) is not None
    (line,) = [r.getMessage() for r in caplog.records]
    assert str(path) in line and str(aside[0]) in line and "not a database" in line


def test_a_damaged_page_is_found_by_the_quick_check(tmp_path: Path, caplog) -> None:
    path = tmp_path / "events.sqlite3"
    spool = Spool(path)
    for frame in range(400):  # several pages of rows
        spool.put(Event("new", 1.0, "pi", "cam0", frame, None, 0.5, (0, 0, 9, 9), frame))
    spool.close()
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page : 2 * page + 200] = os.urandom(200)  # a torn write in the middle of the table
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="edge.mqtt.spool"):
        spool = Spool(path)
    assert len(spool) == 0
    assert "is unreadable" in caplog.text and "moved it to" in caplog.text
