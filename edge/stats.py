"""Health figures for the `stats` topic: frame rate, time per pipeline stage, CPU temperature.

Stage times are averaged over the frames since the last report, so each message describes the
last interval rather than the whole run (a slow start does not hide a later slowdown).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# track: linking and naming; keep: the crops of unknown tracks ([unknown_crops], when enabled)
STAGES = ("decode", "detect", "crop", "embed", "track", "keep", "publish")
THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")


class StageTimer:
    """Accumulates wall time per stage between two reports."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = defaultdict(float)
        self._frames = 0
        self._since = time.monotonic()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._seconds[name] += time.perf_counter() - start

    def frame_done(self) -> None:
        self._frames += 1

    def report(self) -> dict[str, object]:
        """Figures for the interval since the last report, then start a new interval."""
        elapsed = max(time.monotonic() - self._since, 1e-9)
        frames = max(self._frames, 1)
        figures: dict[str, object] = {
            "frames": self._frames,
            "fps": round(self._frames / elapsed, 2),
            "stage_ms": {s: round(1000 * self._seconds[s] / frames, 3) for s in STAGES},
        }
        self._seconds.clear()
        self._frames = 0
        self._since = time.monotonic()
        return figures


def cpu_temperature_c(zone: Path = THERMAL_ZONE) -> float | None:
    """The SoC temperature on a Pi (millidegrees in sysfs); None where it is not readable."""
    try:
        return int(zone.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None
