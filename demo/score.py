"""How right were the daemon's events? Compared with the pool simulator's ground truth.

A track's identity is the last one it announced (`new`/`update`); who really swam there is the
truth swimmer whose pasted crop holds the centre of the track's announced boxes, by majority
over those events (several swimmers may share a lane). The right answer for a swimmer the bundle
does not know is "unknown" (None).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from edge.types import Box


@dataclass(frozen=True)
class TrackScore:
    announced: dict[int, str | None]  # track id -> last announced swimmer id
    truth: dict[int, str]  # track id -> the swimmer really there
    swimmers: frozenset[str]  # everyone in the video
    enrolled: frozenset[str]  # everyone the bundle knows

    def expected(self, track: int) -> str | None:
        """The right answer for a track: its swimmer, or None for a stranger (or no one)."""
        swimmer = self.truth.get(track)
        return swimmer if swimmer in self.enrolled else None

    @property
    def right(self) -> int:
        return sum(self.announced[t] == self.expected(t) for t in self.announced)

    @property
    def strangers(self) -> frozenset[str]:
        return self.swimmers - self.enrolled

    @property
    def accuracy(self) -> float:
        return self.right / len(self.announced) if self.announced else 0.0


def score_tracks(events: list[dict], truth: dict, enrolled: set[str] | None = None) -> TrackScore:
    """Score subscriber-side event dicts against a poolsim truth JSON (already parsed);
    `enrolled`: the swimmers the bundle knows (default: everyone in the video)."""
    frames = truth["frames"]
    announced: dict[int, str | None] = {}
    votes: dict[int, Counter] = defaultdict(Counter)
    for event in events:
        if event["type"] == "end":
            continue
        announced[event["track_id"]] = event["swimmer_id"]
        x, y, w, h = event["box"]
        for swimmer in frames[event["frame"]]["swimmers"]:
            if holds(swimmer["crop_box"], x + w / 2, y + h / 2):
                votes[event["track_id"]][swimmer["identity"]] += 1
    who = {track: counts.most_common(1)[0][0] for track, counts in votes.items()}
    swimmers = frozenset(s["identity"] for f in frames for s in f["swimmers"])
    known = swimmers if enrolled is None else frozenset(enrolled)
    return TrackScore(announced, who, swimmers, known)


def match_detections(boxes: list[Box], swimmers: list[dict]) -> tuple[list[tuple[Box, dict]], int]:
    """Each detected box paired with a truth swimmer (`pair_boxes`), and how many boxes fell on
    no free swimmer. Missed swimmers are those left unpaired."""
    pairs = pair_boxes(boxes, swimmers)
    return [(boxes[i], swimmer) for i, swimmer in pairs], len(boxes) - len(pairs)


def pair_boxes(boxes: list[Box], swimmers: list[dict]) -> list[tuple[int, dict]]:
    """One-to-one (box index, truth swimmer) pairs: a box may go to a swimmer whose pasted crop
    holds its centre, best first (the most overlap with the swimmer's own box, then the nearest
    centre). Pasted crops are generous and overlap where swimmers are close, so a box is one
    swimmer's at most, and a swimmer's only box is never taken by a neighbour's first."""
    ranked = []
    for i, box in enumerate(boxes):
        x, y = box.center
        for j, swimmer in enumerate(swimmers):
            if holds(swimmer["crop_box"], x, y):
                body = Box(*swimmer["box"])
                ranked.append((-box.iou(body), math.dist(box.center, body.center), i, j))
    pairs, used_boxes, used_swimmers = [], set(), set()
    for _, _, i, j in sorted(ranked):
        if i not in used_boxes and j not in used_swimmers:
            used_boxes.add(i)
            used_swimmers.add(j)
            pairs.append((i, swimmers[j]))
    return pairs


def holds(box: list[int], x: float, y: float) -> bool:
    """Whether the point lies in the [x, y, w, h] box (a truth swimmer's pasted crop)."""
    return Box(*box).contains(x, y)
