"""Linking detections across frames into tracks, and voting each track's swimmer identity.

A single crop's prediction is noisy (a splash, a turn, motion blur); a track's identity is the
most common prediction over its last `vote_window` crops, so one bad crop changes nothing.
Events are what a subscriber cares about: `new` once a track has `settle_votes` predictions
(this is also the min-hits rule: a detection seen in fewer frames never becomes a visible track,
so a one-frame splash invents nothing), `update` when the voted identity changes, `end` when
the track has been unseen for more than `max_missed` frames. An unknown (None) prediction
wins only with a majority of the window: a known swimmer's weak crops (a turn, a splash) do not
turn the track unknown. A challenger must have strictly more votes than the announced identity,
so ties do not flap.

Matching is greedy: first by IoU (at least `min_iou`), then by centroid distance (at most one box
size). Swimmers stay in their lanes, so a box never continues a track in another lane (when
the lane width is known; otherwise, in a box more than a box width away sideways).
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from edge.config import TrackerConfig
from edge.types import Box, Detection, Prediction

log = logging.getLogger(__name__)

MAX_JUMP_BOXES = 1.0  # a centroid match may move at most this many box sizes


@dataclass(frozen=True)
class TrackChange:
    """Something a subscriber should hear about one track."""

    type: Literal["new", "update", "end"]
    track_id: int
    swimmer_id: str | None
    score: float
    box: Box


@dataclass
class _Track:
    box: Box
    last_seen: int
    votes: deque[tuple[str | None, float]]
    track_id: int | None = None  # given when announced
    swimmer_id: str | None = None

    def vote(self) -> tuple[str | None, float]:
        """The winning identity and its mean score.

        An unknown (None) vote is a crop too weak to name, not by itself a stranger: unknown wins
        only when most of the window is unknown. Otherwise the most common known id wins, and
        the announced identity keeps ties.
        """
        counts = Counter(swimmer for swimmer, _ in self.votes)
        unknown = counts.pop(None, 0)
        if not counts or 2 * unknown > len(self.votes):
            winner = None
        else:
            best = max(counts.values())
            if self.track_id is not None and counts.get(self.swimmer_id, 0) == best:
                winner = self.swimmer_id
            else:
                winner = next(
                    s for s, _ in reversed(self.votes) if s is not None and counts[s] == best
                )
        scores = [score for swimmer, score in self.votes if swimmer == winner]
        return winner, sum(scores) / len(scores)


class Tracker:
    """Tracks of one camera. `lane_width` (frame pixels, 0 = unknown) forbids lane jumps."""

    def __init__(self, cfg: TrackerConfig, lane_width: float = 0.0) -> None:
        if cfg.settle_votes < 1 or cfg.vote_window < cfg.settle_votes:
            raise ValueError("tracker: need 1 <= settle_votes <= vote_window")
        self.cfg = cfg
        self.lane_width = lane_width
        self._tracks: list[_Track] = []
        self._ids = itertools.count(1)

    def update(
        self,
        frame_index: int,
        ts: float,
        detections: Sequence[Detection],
        predictions: Sequence[Prediction | None],
    ) -> list[TrackChange]:
        """Feed one frame's detections and their predictions (same order and length)."""
        if len(detections) != len(predictions):
            raise ValueError(f"{len(detections)} detections but {len(predictions)} predictions")
        changes = self._expire(frame_index)
        pairs = self._match([d.box for d in detections])
        for det_index, detection in enumerate(detections):
            track = pairs.get(det_index)
            if track is None:
                track = _Track(detection.box, frame_index, deque(maxlen=self.cfg.vote_window))
                self._tracks.append(track)
            else:
                track.box, track.last_seen = detection.box, frame_index
            prediction = predictions[det_index]
            if prediction is not None:
                track.votes.append((prediction.swimmer_id, float(prediction.score)))
                changes.extend(self._announce(track))
        return changes

    def finish(self) -> list[TrackChange]:
        """End every announced track (at shutdown or the end of the input)."""
        changes = [self._end(t) for t in self._tracks if t.track_id is not None]
        self._tracks = []
        return changes

    @property
    def active(self) -> int:
        """Announced tracks alive now (for stats)."""
        return sum(t.track_id is not None for t in self._tracks)

    def _expire(self, frame_index: int) -> list[TrackChange]:
        gone = [t for t in self._tracks if frame_index - t.last_seen > self.cfg.max_missed]
        self._tracks = [t for t in self._tracks if t not in gone]
        return [self._end(t) for t in gone if t.track_id is not None]

    def _end(self, track: _Track) -> TrackChange:
        assert track.track_id is not None
        _, score = track.vote()
        return TrackChange("end", track.track_id, track.swimmer_id, score, track.box)

    def _announce(self, track: _Track) -> list[TrackChange]:
        if len(track.votes) < self.cfg.settle_votes:
            return []
        swimmer, score = track.vote()
        if track.track_id is None:
            track.track_id, track.swimmer_id = next(self._ids), swimmer
            log.debug("track %d is swimmer %s", track.track_id, swimmer)
            return [TrackChange("new", track.track_id, swimmer, score, track.box)]
        if swimmer != track.swimmer_id:
            track.swimmer_id = swimmer
            return [TrackChange("update", track.track_id, swimmer, score, track.box)]
        return []

    def _match(self, boxes: list[Box]) -> dict[int, _Track]:
        """Detection index -> continued track: IoU pairs first, then near centroids."""
        candidates = []
        for ti, track in enumerate(self._tracks):
            for di, box in enumerate(boxes):
                if not self._same_lane(track.box, box):
                    continue
                iou = track.box.iou(box)
                if iou >= self.cfg.min_iou:
                    candidates.append((0, -iou, ti, di))
                else:
                    distance = _distance(track.box, box)
                    if distance <= MAX_JUMP_BOXES * max(track.box.w, track.box.h):
                        candidates.append((1, distance, ti, di))
        pairs: dict[int, _Track] = {}
        used: set[int] = set()
        for _, _, ti, di in sorted(candidates):
            if ti not in used and di not in pairs:
                used.add(ti)
                pairs[di] = self._tracks[ti]
        return pairs

    def _same_lane(self, a: Box, b: Box) -> bool:
        """Lanes known: the same lane. Unknown: no further sideways than a box width."""
        if self.lane_width > 0:
            return int(a.center[0] // self.lane_width) == int(b.center[0] // self.lane_width)
        return abs(a.center[0] - b.center[0]) <= max(a.w, b.w)


def _distance(a: Box, b: Box) -> float:
    (ax, ay), (bx, by) = a.center, b.center
    return ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5
