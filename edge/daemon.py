"""`reid-edge`: camera frames in, swimmer-ID events out. This module only wires the stages.

One synchronous loop: read a frame, detect, crop, track (embedding the crops the tracker's
budget asks for, and naming the tracks), publish. paho runs its own network thread; everything
else happens here, so there is no queue to overflow and a SIGTERM is handled between two
frames: the frame in hand is finished, tracks are ended, the spool is flushed as far as the
broker allows, and the process exits 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from edge.cli import run_main, setup_logging
from edge.config import Config, load_config
from edge.enrolment.unknown_crops import UnknownCrops
from edge.errors import ConfigError, ReidError
from edge.geometry import PoolGeometry, geometry_of
from edge.mqtt.connection import tls_context
from edge.mqtt.events import Event
from edge.mqtt.publish import Publisher
from edge.mqtt.spool import Spool
from edge.notify import Notifier
from edge.probes import checked_identifier
from edge.snapshot import take_snapshot
from edge.sources import open_source
from edge.stats import StageTimer, cpu_temperature_c
from edge.tracking.track import TrackChange, Tracker
from edge.types import Crop, Detection, Frame
from edge.vision.crop import croppable, cut_crop
from edge.vision.detect import make_detector

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.5  # how long a read may block before the loop looks at the stop flag again


class Daemon:
    """The stages of one camera, run frame by frame until the source ends or a stop is asked."""

    def __init__(self, config: Config) -> None:
        bundle, self.identifier = checked_identifier(config.bundle)
        self.config = config
        self.aspect = bundle.input_width / bundle.input_height
        self.detector = make_detector(config.detector, config.pool)
        self.tracker: Tracker | None = None  # made at the first frame, when its width is known
        self.spool = Spool.from_config(config.device, config.spool)
        self.publisher = Publisher(config.mqtt, config.device, self.spool)
        self.notifier = Notifier()
        self.timer = StageTimer()
        self.unknown = None  # made with the tracker, when enabled
        self.pool: PoolGeometry | None = None  # the lanes in pixels, at the first frame
        self.last_frame: Frame | None = None  # `end` events at shutdown carry its index and time
        self._next_watchdog = self._next_stats = time.monotonic()
        self._progressed = True  # starting up counts: READY=1 has just been sent

    def run(self, stop: threading.Event) -> None:
        source = open_source(self.config.source)
        self.publisher.start()
        self.notifier.ready(f"watching {self.config.source.kind} {self.config.source.uri}")
        try:
            while not stop.is_set():
                self._heartbeat(source.reconnecting)
                try:
                    with self.timer.stage("decode"):
                        frame = source.read(READ_TIMEOUT_S)
                except TimeoutError:
                    continue  # between frames, reconnecting, or stuck: _heartbeat tells them apart
                if frame is None:
                    log.info("source ended")
                    break
                self._process(frame)
                self._progressed = True
        finally:
            self.notifier.stopping()
            source.close()
            if self.tracker is not None and self.last_frame is not None:
                last, ended = self.last_frame, self.tracker.finish()
                self._publish(ended, last.ts, last.index)
                if self.unknown is not None:
                    self.unknown.ended(ended, last.index)
            self.publisher.publish_stats(self._stats())
            self.publisher.stop()
            self.spool.close()

    def _heartbeat(self, reconnecting: bool) -> None:
        """Ping the systemd watchdog when it is due and the pipeline made progress since the last
        ping (a frame processed, or the source in a bounded reopen back-off): a camera that
        stops delivering stops the pings, and systemd restarts the service. Publish stats when
        they are due."""
        now = time.monotonic()
        watchdog_s = self.notifier.watchdog_interval_s
        if watchdog_s is not None and now >= self._next_watchdog:
            if self._progressed or reconnecting:
                self.notifier.watchdog()
                self._progressed = False
            else:
                log.warning("no frame for %.0f s: the systemd watchdog is not pinged", watchdog_s)
            self._next_watchdog = now + watchdog_s
        if now >= self._next_stats:
            self.publisher.publish_stats(self._stats())
            self._next_stats = now + self.config.mqtt.stats_interval_s

    def _process(self, frame: Frame) -> None:
        if self.tracker is None:
            height, width = frame.image.shape[:2]
            self.pool = geometry_of(self.config, width, height)
            self.tracker = Tracker(
                self.config.tracker, self.identifier.name_tracks, self.pool.lane_of
            )
            if self.config.unknown_crops.enabled:
                self.unknown = UnknownCrops(self.config.unknown_crops, self.config.device.state_dir,
                                            self.pool, self.config.tracker.patience)  # fmt: skip
        with self.timer.stage("detect"):  # two swimmers in one blob: cut where the tracks are
            detections = self.tracker.separate(self.detector.detect(frame.image), frame.index)
        height, width = frame.image.shape[:2]
        kept = [d for d in detections if croppable(d.box, width, height)]
        self.timer.counts["crops"] += len(kept)

        def describe(wanted: list[int]) -> np.ndarray:  # the crops the tracker's budget wants
            self.timer.counts["embedded"] += len(wanted)
            with self.timer.stage("crop"):
                crops = [self._cut(frame, kept[i]) for i in wanted]
            with self.timer.stage("embed"):
                return self.identifier.describe([c.image for c in crops])

        with self.timer.stage("track"):  # linking, and naming the tracks (edge/tracking/)
            changes = self.tracker.update(frame.index, kept, describe)
        if self.unknown is not None:
            with self.timer.stage("keep"):
                crops = [self._cut(frame, d) for d in kept]
                self.unknown.see(frame, crops, self.tracker.keys)
                self.unknown.ended(changes, frame.index)
        with self.timer.stage("publish"):
            self._publish(changes, frame.ts, frame.index)
        self.timer.frame_done()
        self.last_frame = frame

    def _cut(self, frame: Frame, detection: Detection) -> Crop:
        return cut_crop(frame, detection.box, self.aspect, self.pool.lane_map)

    def _publish(self, changes: list[TrackChange], ts: float, frame_index: int) -> None:
        device = self.config.device
        for change in changes:
            event = Event(
                type=change.type,
                ts=ts,
                device=device.name,
                camera=device.camera,
                track_id=change.track_id,
                swimmer_id=change.swimmer_id,
                score=round(float(change.score), 4),
                box=tuple(change.box.as_list()),
                frame=frame_index,
                lane=self.pool.lane_of(change.box) if self.pool else 0,
            )
            self.publisher.publish_event(event)  # spooled on disk when this returns
            log.debug("event %s spooled: track %d %s", event.event_id, event.track_id, event.type)

    def _stats(self) -> dict[str, object]:
        return {
            **self.timer.report(),
            **self.publisher.stats(),
            "queue_depth": len(self.spool),
            "tracks": self.tracker.active if self.tracker else 0,
            "cpu_temp_c": cpu_temperature_c(),
            "ts": time.time(),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reid-edge", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="TOML configuration file")
    parser.add_argument("--check-config", action="store_true", help="validate and exit 0/1")
    snapshot = "grab one frame, detect and identify, draw it with the lanes to OUT.png; exit"
    parser.add_argument("--snapshot", type=Path, metavar="OUT.png", help=snapshot)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    return run_main(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    if args.check_config:
        return _check_config(args.config)
    config = load_config(args.config)
    if args.snapshot:
        seen = take_snapshot(config, args.snapshot)
        sys.stdout.write("".join(f"{item.line()}\n" for item in seen))
        sys.stdout.write(f"{args.snapshot}: {len(seen)} swimmer(s) seen\n")
        return 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    Daemon(config).run(stop)
    return 0


def _check_config(path: Path) -> int:
    """`--check-config`: the file parses and validates, the TLS files load, and the bundle it
    names verifies."""
    try:
        config = load_config(path)
        if config.mqtt.tls.enabled:
            tls_context(config.mqtt.tls)
        checked_identifier(config.bundle)
    except ConfigError as error:
        sys.stderr.write(f"reid-edge: config error: {error}\n")
        return 1
    except ReidError as error:
        sys.stderr.write(f"reid-edge: {error}\n")
        return 1
    sys.stdout.write(f"{path}: ok\n")
    return 0
