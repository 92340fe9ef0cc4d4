"""The on-disk event spool: no event is lost while the broker is away or the daemon restarts.

An event is written here BEFORE it is handed to MQTT and deleted only when the broker has
acknowledged it (QoS 1 PUBACK), so a crash, a SIGKILL or a power cut between the two never loses
it: the next start sends everything still here, oldest first (duplicates are possible, and the
`event_id` lets a consumer drop them). SQLite in WAL mode, because it survives a torn write and
the daemon writes from one thread while paho's network thread deletes acknowledged rows.

The spool is bounded (`max_events`): at the bound it drops the oldest or the newest event, as
configured, and counts and logs every drop, so a broker that is away for days costs a known
amount of disk and the loss is visible in the stats.

A spool file SQLite cannot read (not a database, or failing its quick check: a bad SD card, a
copy gone wrong) is moved aside with its WAL, named `events.sqlite3.corrupt-<UTC time>`, and an
empty spool takes its place, with an error in the log naming both. The daemon keeps naming
swimmers instead of restart-looping at the pool, and the damaged file stays for `sqlite3
.recover`; refusing to start would lose every event from then on to save ones already damaged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edge.config import DeviceConfig, SpoolConfig
from edge.errors import SpoolError
from edge.mqtt.events import Event

log = logging.getLogger(__name__)

SPOOL_FILENAME = "events.sqlite3"  # inside DeviceConfig.state_dir
BUSY_TIMEOUT_S = 5.0  # how long a write waits for another process holding the database lock
CORRUPT = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)  # error codes that mean "move aside"
SIDE_FILES = ("-wal", "-shm")  # SQLite's companions of a WAL database
OnFull = Literal["drop_oldest", "drop_newest"]
ON_FULL_CHOICES: tuple[OnFull, ...] = ("drop_oldest", "drop_newest")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class SpooledEvent:
    """One waiting event: `row_id` orders the spool (oldest first); `payload` is the JSON."""

    row_id: int
    event_id: str
    payload: str


class Spool:
    """A bounded FIFO of event payloads in SQLite; safe to use from several threads."""

    def __init__(
        self,
        path: str | Path,
        max_events: int = SpoolConfig.max_events,
        on_full: OnFull = SpoolConfig.on_full,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        if max_events < 1:
            raise SpoolError(f"event spool: max_events must be at least 1, got {max_events}")
        if on_full not in ON_FULL_CHOICES:
            raise SpoolError(f"event spool: on_full must be one of {ON_FULL_CHOICES}: {on_full!r}")
        self.path = Path(path)
        self.max_events = max_events
        self.on_full = on_full
        self._dropped = 0
        self._lock = threading.Lock()
        self._count = 0
        self._db = self._open(busy_timeout_s)

    @classmethod
    def from_config(cls, device: DeviceConfig, spool: SpoolConfig) -> Spool:
        """The daemon's spool: `SPOOL_FILENAME` in the state directory, bound and policy from
        the config."""
        return cls(Path(device.state_dir) / SPOOL_FILENAME, spool.max_events, spool.on_full)

    def _open(self, busy_timeout_s: float) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if (damage := _damage(self.path)) is not None:
                self._move_aside(damage)
            db = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a power cut
            db.execute(_SCHEMA)
            self._count = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            return db
        except (OSError, sqlite3.Error) as error:
            raise SpoolError(f"event spool {self.path}: cannot open: {_reason(error)}") from None

    def _move_aside(self, reason: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", *SIDE_FILES):
            source = self.path.with_name(self.path.name + suffix)
            if source.exists():
                source.rename(aside.with_name(aside.name + suffix))
        log.error(
            "event spool %s is unreadable (%s): moved it to %s and started an empty spool; "
            "the events in it were not sent", self.path, reason, aside,
        )  # fmt: skip

    @property
    def dropped(self) -> int:
        """Events dropped at the bound since this spool was opened (for the stats topic)."""
        return self._dropped

    def put(self, event: Event) -> int | None:
        """Store an event durably; returns its row id, or None when it was dropped at the bound."""
        with self._lock, self._writing("store an event"):
            if self._count >= self.max_events and self.on_full == "drop_newest":
                self._note_drop(1, f"dropped the new event {event.event_id}")
                return None
            self._db.execute("BEGIN IMMEDIATE")
            try:
                excess = self._count - self.max_events + 1
                if excess > 0:
                    self._db.execute(
                        "DELETE FROM events WHERE id IN "
                        "(SELECT id FROM events ORDER BY id LIMIT ?)",
                        (excess,),
                    )
                cursor = self._db.execute(
                    "INSERT INTO events (event_id, payload) VALUES (?, ?)",
                    (event.event_id, event.to_json()),
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._count += 1 - max(excess, 0)
            if excess > 0:
                self._note_drop(excess, f"dropped the {excess} oldest event(s)")
            return cursor.lastrowid

    def _note_drop(self, n: int, what: str) -> None:
        self._dropped += n
        log.warning(
            "event spool full (%d events, policy %s): %s; %d dropped so far",
            self.max_events, self.on_full, what, self._dropped,
        )  # fmt: skip

    def peek(self, after: int = 0, limit: int = 100) -> list[SpooledEvent]:
        """The oldest waiting events with a row id above `after`, in order."""
        with self._lock, self._writing("read events"):
            rows = self._db.execute(
                "SELECT id, event_id, payload FROM events WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [SpooledEvent(*row) for row in rows]

    def remove(self, row_id: int) -> None:
        """Forget an event the broker acknowledged (a row already dropped is fine)."""
        with self._lock, self._writing("remove an acknowledged event"):
            # No fsync of its own: a delete lost to a power cut only means a duplicate later,
            # and the next put()'s synced commit makes it durable anyway.
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                removed = self._db.execute("DELETE FROM events WHERE id = ?", (row_id,)).rowcount
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
            self._count -= removed

    def __len__(self) -> int:
        """Events waiting for the broker's acknowledgement."""
        return self._count

    def _writing(self, action: str) -> _SpoolErrors:
        return _SpoolErrors(self.path, action)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _SpoolErrors:
    """Turns a SQLite failure (disk full, read-only, locked) into a one-line `SpoolError`."""

    def __init__(self, path: Path, action: str) -> None:
        self.path = path
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, _tb: object) -> bool:
        if isinstance(error, sqlite3.Error):
            raise SpoolError(
                f"event spool {self.path}: cannot {self.action}: {_reason(error)}"
            ) from None
        return False


def _damage(path: Path) -> str | None:
    """Why SQLite cannot use the spool file, or None when it is sound (or not there yet)."""
    if not path.exists():
        return None
    db = sqlite3.connect(path, isolation_level=None)
    try:
        result = db.execute("PRAGMA quick_check").fetchone()[0]
        return None if result == "ok" else f"quick check: {result}"
    except sqlite3.DatabaseError as error:
        if getattr(error, "sqlite_errorcode", None) in CORRUPT:
            return str(error)
        raise  # locked, unreadable, ...: not damage, and not ours to move
    finally:
        db.close()


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
