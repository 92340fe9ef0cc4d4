"""Which crops of a track to keep, and writing them: shared by reid-collect (collect.py) and the
daemon's unknown crops (unknown_crops.py).

Which crops a track keeps: enrolment learns from variety, and a minute of one swimmer at 25 fps
is 1,500 near-identical crops. As Frigate's docs warn against training blurry, tiny and
near-identical images:
- a box under MIN_BOX_PX tall is no candidate;
- at the track's end, candidates blurrier than BLUR_FRACTION of the track's median sharpness
  (variance of the Laplacian) are dropped;
- of the rest, up to `per_track` crops as unlike each other as they come (farthest-point
  selection on small grey thumbnails, starting from the sharpest).
Every frame's crop is a candidate, and a swimmer half in view at the frame's edge too: reid-enroll
calibrates the track threshold on runs of 15 of the collected crops, which matches the daemon's
window of 15 consecutive crops only when the crops are consecutive. Crops 2 frames apart, or
without the edge ones, calibrated it above what the daemon's tracks of a known swimmer then
scored (the end-to-end test's swimmer 5: unknown, 6 of 7 tracks right; every frame: 7 of 7).
A track thinned to `per_track` calibrates higher still: more unknowns, never a wrong name.
A track in memory holds at most THIN_AT x `per_track` candidates; past that it is thinned to the
most unlike `per_track`, so a swimmer who stays an hour costs what one who stays a minute does.
Each track keeps its first and last frame's number and time, never the frames themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.enrolment.contact_sheet import KeptCrop, TrackRecord
from edge.errors import ReidError
from edge.types import Box, Crop, Frame

MIN_BOX_PX = 32  # a box shorter than this is too few pixels to learn a swimmer from
BLUR_FRACTION = 0.5  # of the track's median sharpness
THIN_AT = 2  # candidates in memory, in units of `per_track`
THUMB_SIZE = (12, 20)  # width, height of the grey thumbnails crops are compared on


@dataclass(frozen=True, eq=False)
class Candidate:
    """A crop that may be kept, with what choosing among them needs."""

    frame: int
    box: Box
    image: np.ndarray = field(repr=False)  # RGB
    sharpness: float
    thumb: np.ndarray = field(repr=False)  # unit-norm, zero-mean grey thumbnail

    @classmethod
    def of(cls, crop: Crop) -> Candidate:
        grey = cv2.cvtColor(crop.image, cv2.COLOR_RGB2GRAY)
        sharpness = float(cv2.Laplacian(grey, cv2.CV_64F).var())
        thumb = cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
        thumb = thumb.ravel() - thumb.mean()
        thumb /= np.linalg.norm(thumb) + 1e-6
        return cls(crop.frame_index, crop.box, crop.image, sharpness, thumb)


def most_unlike(candidates: list[Candidate], count: int) -> list[Candidate]:
    """Up to `count` candidates, each next one the farthest from all chosen so far, starting
    from the sharpest; returned in time order."""
    if len(candidates) <= count:
        return list(candidates)
    thumbs = np.stack([c.thumb for c in candidates])
    first = int(np.argmax([c.sharpness for c in candidates]))
    return [candidates[i] for i in farthest_points(thumbs, count, first)]


def farthest_points(rows: np.ndarray, count: int, first: int = 0) -> list[int]:
    """Indices of up to `count` rows, each next one the farthest (Euclidean) from all chosen
    so far, starting from `first`; in ascending order. The fewest rows that still cover the
    variety: a track's crops to keep, a swimmer's gallery rows."""
    if len(rows) <= count:
        return list(range(len(rows)))
    chosen = [first]
    nearest = np.linalg.norm(rows - rows[first], axis=1)
    nearest[first] = -1.0  # never chosen twice, even among identical rows
    while len(chosen) < count:
        chosen.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, np.linalg.norm(rows - rows[chosen[-1]], axis=1))
        nearest[chosen] = -1.0
    return sorted(chosen)


@dataclass
class TrackCrops:
    """One track's life so far (frame numbers and times, not frames) and its candidates."""

    key: int
    lane: int
    first_frame: int
    first_ts: float
    last_frame: int = -1
    last_ts: float = 0.0
    boxes: int = 0
    candidates: list[Candidate] = field(default_factory=list)

    @classmethod
    def starting(cls, key: int, lane: int, frame: Frame) -> TrackCrops:
        return cls(key, lane, frame.index, frame.ts)

    def see(self, frame: Frame, crop: Crop, usable: bool, per_track: int) -> None:
        self.last_frame, self.last_ts, self.boxes = frame.index, frame.ts, self.boxes + 1
        if usable:
            self.candidates.append(Candidate.of(crop))
            if len(self.candidates) > THIN_AT * per_track:
                self.candidates = most_unlike(self.candidates, per_track)

    def chosen(self, per_track: int) -> list[Candidate]:
        """The sharp enough candidates, at most `per_track`, as unlike each other as they come."""
        if not self.candidates:
            return []
        median = float(np.median([c.sharpness for c in self.candidates]))
        sharp = [c for c in self.candidates if c.sharpness >= BLUR_FRACTION * median]
        return most_unlike(sharp, per_track)


class LiveTracks:
    """The candidate crops of every live track, by the tracker's key (Tracker.keys)."""

    def __init__(self, lane_of: Callable[[Box], int], per_track: int) -> None:
        self.lane_of, self.per_track = lane_of, per_track
        self._tracks: dict[int, TrackCrops] = {}

    def __len__(self) -> int:
        return len(self._tracks)

    def see(self, frame: Frame, crops: Sequence[Crop], keys: Sequence[int]) -> None:
        """One frame's crops, with the tracker's key for each."""
        for crop, key in zip(crops, keys, strict=True):
            track = self._tracks.get(key)
            if track is None:
                lane = self.lane_of(crop.box)
                track = self._tracks[key] = TrackCrops.starting(key, lane, frame)
            track.see(frame, crop, usable_box(crop.box), self.per_track)

    def pop(self, key: int) -> TrackCrops | None:
        return self._tracks.pop(key, None)

    def gone(self, frame_index: int, patience: int) -> list[TrackCrops]:
        """Remove and return the tracks unseen for more than `patience` frames."""
        keys = [k for k, t in self._tracks.items() if frame_index - t.last_frame > patience]
        return [self._tracks.pop(k) for k in keys]

    def all(self) -> list[TrackCrops]:
        """Remove and return every track (the end of the input)."""
        tracks, self._tracks = list(self._tracks.values()), {}
        return tracks


def usable_box(box: Box) -> bool:
    """Tall enough to learn from."""
    return box.h >= MIN_BOX_PX


def write_track(out: Path, number: int, track: TrackCrops, chosen: list[Candidate]) -> TrackRecord:
    """OUT/track_<number>/frame_<n>.jpg for the chosen crops; a full disk is one `ReidError`."""
    folder = out / f"track_{number:04d}"
    kept = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for candidate in chosen:
            ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(candidate.image, cv2.COLOR_RGB2BGR))
            if not ok:
                raise ReidError(f"cannot encode a crop of {folder.name} as JPEG")
            name = f"frame_{candidate.frame}.jpg"
            (folder / name).write_bytes(jpeg.tobytes())
            kept.append(KeptCrop(name, candidate.frame, candidate.box.as_list()))
    except OSError as error:
        raise ReidError(f"cannot write {folder}: {error.strerror or error}") from None
    return TrackRecord(folder.name, number, track.lane, track.first_frame, track.last_frame,
                       track.first_ts, track.last_ts, track.boxes, kept)  # fmt: skip
