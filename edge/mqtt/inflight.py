"""The in-flight window: which spooled events paho holds unacknowledged, under which message id.

Rows are handed out in spool order, at most `size` unacknowledged at a time, so a long outage
drains at a bounded pace without loading the whole spool into paho's memory. A PUBACK can beat
the registration of its message id (paho's thread may receive it before `publish()` returns to
the caller); such early acknowledgements are remembered for the batch being sent.

Rows stay registered across a reconnect: paho re-sends its unacknowledged messages itself, with
the same ids, so the window simply waits for their PUBACKs.
"""

from __future__ import annotations

import threading

from edge.mqtt.spool import Spool, SpooledEvent

MAX_INFLIGHT = 20  # events handed to paho and not yet acknowledged (paho's own default)


class InflightWindow:
    """Thread-safe bookkeeping only: it never calls paho, so it can never deadlock with it."""

    def __init__(self, spool: Spool, size: int = MAX_INFLIGHT) -> None:
        self._spool = spool
        self._size = size
        self._lock = threading.Lock()
        self._rows: dict[int, int] = {}  # paho mid -> spool row id
        self._early: set[int] = set()  # acknowledged mids not registered yet
        self._batch_open = False
        self._cursor = 0  # highest spool row id handed out

    def __len__(self) -> int:
        return len(self._rows)

    def take(self) -> list[SpooledEvent]:
        """The next rows in spool order, as many as there is room for; opens a batch."""
        with self._lock:
            room = self._size - len(self._rows)
            rows = self._spool.peek(after=self._cursor, limit=room) if room > 0 else []
            if rows:
                self._cursor = rows[-1].row_id
                self._batch_open = True
            return rows

    def sent(self, mid: int, row_id: int) -> bool:
        """Register a handed-out row under paho's id; True when its PUBACK already came."""
        with self._lock:
            if mid in self._early:
                self._early.discard(mid)
                return True
            self._rows[mid] = row_id
            return False

    def close_batch(self) -> None:
        """Every row of the batch is registered: acks of unknown ids are others' from now on."""
        with self._lock:
            self._batch_open = False
            self._early.clear()

    def acked(self, mid: int) -> int | None:
        """The row a PUBACK acknowledges, or None (not an event, or not registered yet)."""
        with self._lock:
            row_id = self._rows.pop(mid, None)
            if row_id is None and self._batch_open:
                self._early.add(mid)
            return row_id
