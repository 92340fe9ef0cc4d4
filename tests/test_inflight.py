"""The in-flight window's bookkeeping, without a broker: order, bound, early PUBACKs."""

from __future__ import annotations

from pathlib import Path

from edge.mqtt.events import Event
from edge.mqtt.inflight import InflightWindow
from edge.mqtt.spool import Spool


def filled_spool(tmp_path: Path, n: int) -> Spool:
    spool = Spool(tmp_path / "s.db")
    for i in range(n):
        spool.put(Event("new", 1.0, "pi", "cam0", i, "1", 0.5, (0, 0, 4, 4), i))
    return spool


def test_rows_come_out_in_order_and_the_window_is_bounded(tmp_path: Path) -> None:
    spool = filled_spool(tmp_path, 7)
    window = InflightWindow(spool, size=3)
    first = window.take()
    assert [r.row_id for r in first] == [1, 2, 3]
    for mid, row in enumerate(first, start=100):
        assert window.sent(mid, row.row_id) is False
    window.close_batch()
    assert len(window) == 3
    assert window.take() == []  # full: nothing more until a PUBACK
    assert window.acked(101) == 2
    more = window.take()
    assert [r.row_id for r in more] == [4]  # one slot, the next row, never a re-send of 1..3
    assert window.acked(999) is None  # not an event's id (a status message, say)


def test_a_puback_that_beats_its_registration_is_not_lost(tmp_path: Path) -> None:
    window = InflightWindow(filled_spool(tmp_path, 2), size=5)
    rows = window.take()
    assert window.acked(7) is None  # paho's thread: the PUBACK of mid 7 arrives first...
    assert window.sent(7, rows[0].row_id) is True  # ...so registering it says "already acked"
    assert window.sent(8, rows[1].row_id) is False
    window.close_batch()
    assert len(window) == 1
    assert window.acked(8) == rows[1].row_id


def test_unknown_acks_outside_a_batch_are_not_remembered(tmp_path: Path) -> None:
    window = InflightWindow(filled_spool(tmp_path, 1), size=5)
    assert window.acked(1) is None  # no batch open: a status message's PUBACK
    rows = window.take()
    assert window.sent(1, rows[0].row_id) is False  # so mid 1 is a fresh registration
    window.close_batch()
    assert window.acked(1) == rows[0].row_id
