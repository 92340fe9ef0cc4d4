"""How right were the daemon's events? Compared with the pool simulator's ground truth.

A track's identity is the last one it announced (`new`/`update`); who really swam there is the
truth swimmer in the lane of the track's announced boxes (one swimmer per lane in the
simulation), by majority over those events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class TrackScore:
    announced: dict[int, str | None]  # track id -> last announced swimmer id
    truth: dict[int, str]  # track id -> the swimmer really there
    swimmers: frozenset[str]  # everyone in the video

    @property
    def right(self) -> int:
        return sum(self.announced[t] == self.truth.get(t) for t in self.announced)

    @property
    def accuracy(self) -> float:
        return self.right / len(self.announced) if self.announced else 0.0


def score_tracks(events: list[dict], truth: dict) -> TrackScore:
    """Score subscriber-side event dicts against a poolsim truth JSON (already parsed)."""
    frames = truth["frames"]
    lane_width = truth["width"] / truth["lanes"]
    announced: dict[int, str | None] = {}
    votes: dict[int, Counter] = defaultdict(Counter)
    for event in events:
        if event["type"] == "end":
            continue
        announced[event["track_id"]] = event["swimmer_id"]
        x, _, w, _ = event["box"]
        lane = int((x + w / 2) // lane_width)
        for swimmer in frames[event["frame"]]["swimmers"]:
            if swimmer["lane"] == lane:
                votes[event["track_id"]][swimmer["identity"]] += 1
    who = {track: counts.most_common(1)[0][0] for track, counts in votes.items()}
    swimmers = frozenset(s["identity"] for f in frames for s in f["swimmers"])
    return TrackScore(announced, who, swimmers)
