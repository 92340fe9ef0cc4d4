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
    """Accumulates wall time per stage between two reports. A stage timed inside another (the
    tracker asks for embeddings while it links) counts for itself only, not for both."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = defaultdict(float)
        self._frames = 0
        self._since = time.monotonic()
        self._inner: list[float] = []  # per open stage, seconds spent in stages inside it
        self.counts: dict[str, int] = defaultdict(int)  # events per report (crops embedded, ...)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self._seconds[name] += elapsed - self._inner.pop()
            if self._inner:
                self._inner[-1] += elapsed

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
            **{f"{name}_per_frame": round(n / frames, 3) for name, n in self.counts.items()},
        }
        self._seconds.clear()
        self.counts.clear()
        self._frames = 0
        self._since = time.monotonic()
        return figures


def cpu_temperature_c(zone: Path = THERMAL_ZONE) -> float | None:
    """The SoC temperature on a Pi (millidegrees in sysfs); None where it is not readable."""
    try:
        return int(zone.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None
