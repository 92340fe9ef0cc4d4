"""A spool writer in its own process, for tests that SIGKILL it at chosen or random moments.

Usage: python tests/spool_child.py SPOOL_PATH MODE [FIRST_FRAME]
It prints `put FRAME` after each put() returned and `removed FRAME` after each remove()
returned, so the parent knows what the spool has promised. Modes:
- `before-commit`: puts 5 events into a spool bounded at 5, then blocks inside the 6th put,
  after its INSERT and the drop of the oldest at the bound, before its COMMIT; prints `blocked`.
- `in-remove`: puts 3 events, then blocks inside remove() of the first, with `synchronous`
  lowered and the DELETE not yet run, printing `blocked`.
- `churn`: puts and removes as fast as it can from FIRST_FRAME on, checkpointing the WAL every
  few pages, so a kill at a random moment lands in a transaction, a commit or a checkpoint.
"""

from __future__ import annotations

import sys
import threading

from edge.mqtt.events import Event
from edge.mqtt.spool import Spool

CHECKPOINT_PAGES = 4  # SQLite's default is 1000: checkpoint often, so kills land in them
BOUND = 5  # max_events of the before-commit spool


def event(frame: int) -> Event:
    return Event("new", 1000.0 + frame, "pi", "cam0", frame, "1", 0.9, (1, 2, 30, 40), frame)


def block_at(spool: Spool, statement_start: str) -> None:
    """Park this process forever when SQLite is about to run a statement starting so."""

    def trace(statement: str) -> None:
        if statement.startswith(statement_start):
            print("blocked", flush=True)
            threading.Event().wait()

    spool._db.set_trace_callback(trace)  # the test reaches into SQLite


def main() -> None:
    path, mode = sys.argv[1:3]
    spool = Spool(path, max_events=BOUND if mode == "before-commit" else 10_000)
    if mode == "churn":
        spool._db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
        frame = int(sys.argv[3])
        while True:
            rows = [spool.put(event(frame + i)) for i in range(3)]
            print("\n".join(f"put {frame + i}" for i in range(3)), flush=True)
            spool.remove(rows[0])
            print(f"removed {frame}", flush=True)
            frame += 3
    rows = [spool.put(event(frame)) for frame in range(BOUND if mode == "before-commit" else 3)]
    print("\n".join(f"put {frame}" for frame in range(len(rows))), flush=True)
    if mode == "before-commit":
        block_at(spool, "COMMIT")
        spool.put(event(len(rows)))
    elif mode == "in-remove":
        block_at(spool, "DELETE FROM events WHERE id =")
        spool.remove(rows[0])
    raise SystemExit(f"unknown mode {mode!r} or not blocked")


if __name__ == "__main__":
    main()
