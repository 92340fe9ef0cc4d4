"""Which lane each swimmer keeps to through a session, for naming (edge/tracking/track.py).

Swimmers keep to their lanes. The frames an announced track named a swimmer in each lane are
counted, halved every HOME_FRAMES frames; the lane with the most, once it has HOME_AFTER, is
the swimmer's home, and a track there holds the swimmer against a track elsewhere
(identity.HOME_MARGIN). A swimmer who moves lanes for good makes the new lane home within
about HOME_FRAMES. The lane outlives any one track: a new track in it after a turn or a broken
blob is still in the swimmer's home.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

HOME_FRAMES = 1500  # a minute at 25 fps
HOME_AFTER = 75  # three seconds


class LaneHomes:
    """Per swimmer, the frames it was named in each lane, and so its home lane."""

    def __init__(self) -> None:
        self._named_in: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self._halved = 0  # the frame the counts were last halved

    def count(self, frame_index: int, named: Iterable[tuple[str, int]]) -> None:
        """Count this frame for each (swimmer, lane) an announced track named in it; halve
        the counts every HOME_FRAMES frames."""
        if frame_index - self._halved >= HOME_FRAMES:
            self._halved = frame_index
            for lanes in self._named_in.values():
                for lane in lanes:
                    lanes[lane] //= 2
        for swimmer, lane in named:
            self._named_in[swimmer][lane] += 1

    def by_lane(self) -> dict[int, set[str]]:
        """Lane -> the swimmers whose home it is: the lane they were named in most, once that
        is HOME_AFTER frames."""
        homes: dict[int, set[str]] = {}
        for swimmer, lanes in self._named_in.items():
            lane, frames = lanes.most_common(1)[0]
            if frames >= HOME_AFTER:
                homes.setdefault(lane, set()).add(swimmer)
        return homes
