"""`reid-collect`: a session's swimmers as folders of crops, one per track, for a person to name.

A new pool's squad is not in the bundle, and enrolling them (`reid-enroll --data DIR --names`)
needs crops of each swimmer from this very camera. The camera sees them anyway: this runs the
daemon's own detector, crops and tracker (no model run, no broker) over the configured camera,
a stream or a recording, and writes OUT/track_<n>/frame_<frame>.jpg, one folder per track, with
a contact sheet to name them from (OUT/index.html, edge/enrolment/contact_sheet.py).

The tracker does not rejoin tracks here, whatever `tracker.rejoin_frames` says: measured on a
simulated club session (bench/session.py), rejoining after turns made 36 folders of 89 % pure
crops where a folder per stretch seen made 124 of 94 %, and the enrolled bundle named 51 %
against 59 % of swimmer-seconds right. Naming two folders one swimmer is cheap; a mixed folder
teaches the gallery the wrong swimmer.

Which crops a track keeps, and why, is track_crops.py: sharp, big enough, and as unlike
each other as they come, up to `--per-track`. A track with fewer boxes than the tracker's
`settle_crops` is one the daemon never announces (a splash, a swimmer passing a corner): it is
not written.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from edge.bundle import load_bundle
from edge.cli import run_main, setup_logging
from edge.config import Config, load_config
from edge.enrolment.contact_sheet import TrackRecord, write_sheet
from edge.enrolment.track_crops import LiveTracks, TrackCrops, write_track
from edge.errors import ReidError
from edge.geometry import geometry_of
from edge.sources import frames_until, open_source
from edge.tracking.track import Tracker, name_no_one
from edge.types import Detection, Frame
from edge.vision.crop import cut_crops
from edge.vision.detect import make_detector

log = logging.getLogger(__name__)

DEFAULT_PER_TRACK = 200
READ_TIMEOUT_S = 0.5
PROGRESS_EVERY_S = 5.0


class Collector:
    """Frames in; finished tracks' chosen crops out, written to OUT as they finish."""

    def __init__(self, config: Config, out: Path, aspect: float, per_track: int) -> None:
        self.config, self.out, self.aspect, self.per_track = config, out, aspect, per_track
        self.detector = make_detector(config.detector, config.pool)
        self.tracker: Tracker | None = None  # made at the first frame, when its size is known
        self.live: LiveTracks | None = None
        self.lanes: np.ndarray | None = None  # the lane map, with the tracker
        self.records: list[TrackRecord] = []
        self.frames = 0

    def feed(self, frame: Frame) -> None:
        if self.tracker is None:
            height, width = frame.image.shape[:2]
            pool = geometry_of(self.config, width, height)
            # No rejoining here: a folder per stretch seen, so that a wrong continuation (two
            # swimmers side by side at a wall) never mixes two swimmers in one folder.
            tracker = replace(self.config.tracker, rejoin_frames=0)
            self.tracker = Tracker(tracker, name_no_one, pool.lane_of)
            self.live = LiveTracks(pool.lane_of, self.per_track)
            self.lanes = pool.lane_map
        detections = self.tracker.separate(self.detector.detect(frame.image), frame.index)
        crops = cut_crops(frame, detections, self.aspect, self.lanes)
        unnamed = np.zeros((len(crops), 1))  # tracks are linked by their boxes only
        self.tracker.update(frame.index, [Detection(c.box) for c in crops], unnamed)
        self.live.see(frame, crops, self.tracker.keys)
        for track in self.live.gone(frame.index, self.tracker.cfg.patience):
            self._close(track)
        self.frames += 1

    def finish(self) -> list[TrackRecord]:
        for track in self.live.all() if self.live else []:
            self._close(track)
        return sorted(self.records, key=lambda r: r.key)

    @property
    def crops(self) -> int:
        return sum(len(r.crops) for r in self.records)

    def _close(self, track: TrackCrops) -> None:
        chosen = track.chosen(self.per_track)
        if track.boxes >= self.config.tracker.settle_crops and chosen:
            self.records.append(write_track(self.out, track.key, track, chosen))


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
        f"({len(collector.live or ())} in view), {collector.crops} crops\n"
    )


if __name__ == "__main__":
    sys.exit(main())
