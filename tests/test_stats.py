"""The daemon's stage timer: a stage inside another counts once; counts per frame."""

from __future__ import annotations

import itertools

import pytest

from edge import stats
from edge.stats import StageTimer


def test_a_stage_inside_another_counts_for_itself_only(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = itertools.count(0.0, 1.0)  # every reading is one second after the last
    monkeypatch.setattr(stats.time, "perf_counter", lambda: next(clock))
    timer = StageTimer()
    with timer.stage("track"):  # reads 0 ... 5: five seconds, three of them embedding
        next(clock)
        with timer.stage("embed"):  # reads 2 ... 4
            next(clock)
    timer.counts["embedded"] += 3
    timer.frame_done()
    report = timer.report()
    assert report["stage_ms"]["embed"] == 2000.0
    assert report["stage_ms"]["track"] == 3000.0
    assert report["embedded_per_frame"] == 3.0
    assert "embedded_per_frame" not in timer.report()  # counts start again each report
