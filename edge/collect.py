"""`reid-collect`: a session's swimmers as folders of crops, one per track, for a person to name.

A new pool's squad is not in the bundle, and enrolling them (`reid-enroll --data DIR --names`)
needs crops of each swimmer from this very camera. The camera sees them anyway: this runs the
daemon's own detector, crops and tracker (no model run, no broker) over the configured camera,
a stream or a recording, and writes OUT/track_<n>/frame_<frame>.jpg, one folder per track, with
a contact sheet to name them from (OUT/index.html, edge/contact_sheet.py).

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
most unlike `per_track`, so a swimmer who stays an hour costs what one who stays a minute does. A
track with fewer boxes than the tracker's `settle_crops` is one the daemon never announces (a
splash, a swimmer passing a corner): it is not written.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from edge.bundle import load_bundle
from edge.cli import run_main, setup_logging
from edge.config import Config, load_config
from edge.contact_sheet import KeptCrop, TrackRecord, write_sheet
from edge.errors import ReidError
from edge.geometry import PoolGeometry, geometry_of
from edge.identity import Naming
from edge.sources import frames_until, open_source
from edge.track import Tracker
from edge.types import Box, Crop, Detection, Frame
from edge.vision.crop import cut_crops
from edge.vision.detect import make_detector

log = logging.getLogger(__name__)

MIN_BOX_PX = 32  # a box shorter than this is too few pixels to learn a swimmer from
BLUR_FRACTION = 0.5  # of the track's median sharpness
THIN_AT = 2  # candidates in memory, in units of `per_track`
THUMB_SIZE = (12, 20)  # width, height of the grey thumbnails crops are compared on
DEFAULT_PER_TRACK = 200
READ_TIMEOUT_S = 0.5
PROGRESS_EVERY_S = 5.0


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
    chosen = [int(np.argmax([c.sharpness for c in candidates]))]
    nearest = np.linalg.norm(thumbs - thumbs[chosen[0]], axis=1)
    while len(chosen) < count:
        chosen.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, np.linalg.norm(thumbs - thumbs[chosen[-1]], axis=1))
    return [candidates[i] for i in sorted(chosen)]


@dataclass
class TrackCrops:
    """One track's life so far and its candidate crops."""

    key: int
    lane: int
    first: Frame
    last: Frame
    boxes: int = 0
    candidates: list[Candidate] = field(default_factory=list)

    def see(self, frame: Frame, crop: Crop, usable: bool, per_track: int) -> None:
        self.last, self.boxes = frame, self.boxes + 1
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


def usable_box(box: Box) -> bool:
    """Tall enough to learn from."""
    return box.h >= MIN_BOX_PX


def _nobody(means: np.ndarray, holding: list[str | None]) -> list[Naming]:
    """The tracker's namer while collecting: no one is named, tracks are only linked."""
    return [Naming(None, -1.0) for _ in holding]


class Collector:
    """Frames in; finished tracks' chosen crops out, written to OUT as they finish."""

    def __init__(self, config: Config, out: Path, aspect: float, per_track: int) -> None:
        self.config, self.out, self.aspect, self.per_track = config, out, aspect, per_track
        self.detector = make_detector(config.detector, config.pool)
        self.tracker: Tracker | None = None
        self.pool: PoolGeometry | None = None  # the lanes in pixels, at the first frame
        self.live: dict[int, TrackCrops] = {}
        self.records: list[TrackRecord] = []
        self.frames = self.dropped = 0

    def feed(self, frame: Frame) -> None:
        height, width = frame.image.shape[:2]
        if self.tracker is None:
            self.pool = geometry_of(self.config, width, height)
            self.tracker = Tracker(self.config.tracker, _nobody, self.pool.lane_of)
        crops = cut_crops(frame, self.detector.detect(frame.image), self.aspect)
        unnamed = np.zeros((len(crops), 1))  # tracks are linked by their boxes only
        self.tracker.update(frame.index, [Detection(c.box) for c in crops], unnamed)
        for crop, key in zip(crops, self.tracker.keys, strict=True):
            track = self.live.get(key)
            if track is None:
                track = self.live[key] = TrackCrops(key, self.pool.lane_of(crop.box), frame, frame)
            track.see(frame, crop, usable_box(crop.box), self.per_track)
        gone = [k for k, t in self.live.items() if frame.index - t.last.index > self._patience]
        for key in gone:
            self._close(self.live.pop(key))
        self.frames += 1

    def finish(self) -> list[TrackRecord]:
        for track in self.live.values():
            self._close(track)
        self.live = {}
        return sorted(self.records, key=lambda r: r.key)

    @property
    def crops(self) -> int:
        return sum(len(r.crops) for r in self.records)

    @property
    def _patience(self) -> int:
        return self.config.tracker.max_missed

    def _close(self, track: TrackCrops) -> None:
        chosen = track.chosen(self.per_track)
        if track.boxes < self.config.tracker.settle_crops or not chosen:
            self.dropped += 1
            return
        self.records.append(write_track(self.out, track.key, track, chosen))


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
    first, last = track.first, track.last
    return TrackRecord(folder.name, number, track.lane, first.index, last.index, first.ts,
                       last.ts, track.boxes, kept)  # fmt: skip


def check_out(out: Path) -> None:
    """A new or empty folder: two runs' tracks in one folder would share track numbers."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReidError(f"{out}: not an empty folder; collect into a new one")


def collect(
    config: Config,
    out: Path,
    per_track: int = DEFAULT_PER_TRACK,
    seconds: float = 0.0,
    stop: threading.Event | None = None,
    progress: Callable[[Collector], None] = lambda _: None,
) -> list[TrackRecord]:
    """Run until the source ends, `seconds` have passed (0: no limit) or `stop` is set; write
    the tracks and the contact sheet and return the tracks written."""
    check_out(out)
    bundle = load_bundle(config.bundle.path)  # only its crop shape: the model is not run
    collector = Collector(config, out, bundle.input_width / bundle.input_height, per_track)
    stop = stop or threading.Event()
    source = open_source(config.source)
    started = time.monotonic()
    due = started + PROGRESS_EVERY_S

    def done() -> bool:
        return stop.is_set() or bool(seconds and time.monotonic() - started >= seconds)

    try:
        for frame in frames_until(source, done, READ_TIMEOUT_S):
            collector.feed(frame)
            if time.monotonic() >= due:
                progress(collector)
                due += PROGRESS_EVERY_S
    finally:
        source.close()
    records = collector.finish()
    write_sheet(out, records, config.source.uri)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reid-collect", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="the daemon's TOML config")
    parser.add_argument("--out", required=True, type=Path, help="a new folder for the tracks")
    parser.add_argument("--video", type=Path, help="a recording instead of the config's source")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long")
    parser.add_argument("--per-track", type=int, default=DEFAULT_PER_TRACK, metavar="N",
                        help=f"crops kept per track (default {DEFAULT_PER_TRACK})")  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if args.per_track < 1:
        parser.error("--per-track must be at least 1")
    return run_main(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.video is not None:
        video = replace(config.source, kind="video", uri=str(args.video), loop=False, fps=0.0)
        config = replace(config, source=video)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C ends the session, keeps the tracks
        signal.signal(signum, lambda *_: stop.set())
    records = collect(config, args.out, args.per_track, args.seconds, stop, _progress)
    for record in records:
        sys.stdout.write(f"{record.line()}\n")
    crops = sum(len(r.crops) for r in records)
    sys.stdout.write(f"{args.out / 'index.html'}: {len(records)} tracks, {crops} crops\n")
    return 0


def _progress(collector: Collector) -> None:
    sys.stderr.write(
        f"reid-collect: {collector.frames} frames, {len(collector.records)} tracks written "
        f"({len(collector.live)} in view), {collector.crops} crops\n"
    )


if __name__ == "__main__":
    sys.exit(main())
