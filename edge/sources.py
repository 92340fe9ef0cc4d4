"""Frame sources: a video file, an OpenCV camera or stream, an image folder, a Pi camera.

All of them sit behind one small `FrameSource` protocol so the daemon loop never knows which it
has. `read(timeout_s)` returns the next `Frame`, or None at the clean end of a file or folder.
A live source that has no frame within `timeout_s` raises the builtin `TimeoutError` instead:
the caller looks at its stop flag and reads again, so a stalled camera never blocks a SIGTERM
and is never mistaken for the end of the input. A source that is gone for good raises
`SourceError`.

Bad frames (undecodable images, frames that are not HxWx3 uint8) are logged, counted in
`skipped` and passed over: one corrupt file must not stop a pool's worth of tracking.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from edge.config import SourceConfig
from edge.errors import SourceError
from edge.types import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
STREAM_TIMEOUT_MS = 5000  # OpenCV/FFmpeg open and read timeout for network streams
JOIN_TIMEOUT_S = 2.0  # how long close() waits for a camera reader thread
PICAMERA2_HELP = (
    "picamera2 is not installed: on Raspberry Pi OS run `sudo apt install python3-picamera2` "
    "and create the virtualenv with --system-site-packages (Pi cameras go through libcamera, "
    "not V4L2, so OpenCV cannot open them)"
)

CaptureFactory = Callable[[int | str], Any]  # cv2.VideoCapture or a test's stand-in


class FrameSource(Protocol):
    """Where frames come from; see the module docstring for the meaning of None and errors.
    `reconnecting` is True while a dropped source is in a bounded reopen back-off (one that
    ends in SourceError): waiting for it is progress, for the systemd watchdog."""

    reconnecting: bool

    def read(self, timeout_s: float) -> Frame | None: ...

    def close(self) -> None: ...


def usable_frame(image: Any) -> bool:
    """True for a non-empty HxWx3 uint8 array: the only shape the detector and crops accept."""
    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] == 3
        and image.shape[0] > 0
        and image.shape[1] > 0
    )


def natural_key(path: Path) -> list[int | str]:
    """Sort key that puts frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class _Stamper:
    """Numbers frames, stamps their wall-clock time and throttles to `fps` when it is > 0."""

    def __init__(self, fps: float) -> None:
        self.index = 0
        self._period = 1.0 / fps if fps > 0 else 0.0
        self._due = time.monotonic()

    def stamp(self, image: np.ndarray) -> Frame:
        if self._period:
            wait = self._due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._due = max(self._due + self._period, time.monotonic())
        frame = Frame(index=self.index, ts=time.time(), image=image)
        self.index += 1
        return frame


class VideoFileSource:
    """A video file decoded by OpenCV; its end is a clean stop, or a restart when `loop`."""

    reconnecting = False

    def __init__(
        self, path: str, loop: bool = False, fps: float = 0.0, factory: CaptureFactory | None = None
    ) -> None:
        if not Path(path).is_file():
            raise SourceError(f"{path}: no such video file")
        self.path, self.loop, self.skipped = path, loop, 0
        self._factory = factory or cv2.VideoCapture
        self._stamper = _Stamper(fps)
        self._capture = self._open()

    def _open(self) -> Any:
        capture = self._factory(self.path)
        if not capture.isOpened():
            raise SourceError(f"{self.path}: OpenCV cannot decode this video")
        return capture

    def read(self, timeout_s: float) -> Frame | None:
        good_since_open = self._stamper.index > 0
        while True:
            ok, image = self._capture.read()
            if not ok:
                if not (self.loop and good_since_open):
                    return None
                log.info("%s: end of file, looping", self.path)
                self._capture.release()
                self._capture, good_since_open = self._open(), False
                continue
            if not usable_frame(image):
                self.skipped += 1
                log.warning("%s: skipped a frame of unusable shape", self.path)
                continue
            return self._stamper.stamp(image)

    def close(self) -> None:
        self._capture.release()


class ImageFolderSource:
    """The images of a folder in natural order; undecodable files are logged and skipped."""

    reconnecting = False

    def __init__(self, folder: str, loop: bool = False, fps: float = 0.0) -> None:
        root = Path(folder)
        if not root.is_dir():
            raise SourceError(f"{folder}: no such image folder")
        self.paths = sorted(
            (p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key
        )
        if not self.paths:
            raise SourceError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.loop, self.skipped = loop, 0
        self._next = 0
        self._good_this_pass = False
        self._stamper = _Stamper(fps)

    def read(self, timeout_s: float) -> Frame | None:
        while True:
            if self._next >= len(self.paths):
                if not (self.loop and self._good_this_pass):
                    return None
                self._next, self._good_this_pass = 0, False
            path = self.paths[self._next]
            self._next += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if not usable_frame(image):
                self.skipped += 1
                log.warning("%s: cannot decode, skipped (%d so far)", path, self.skipped)
                continue
            self._good_this_pass = True
            return self._stamper.stamp(image)

    def close(self) -> None:
        self._next = len(self.paths)


class StreamSource:
    """A camera index or an RTSP/HTTP URL, read by a thread that reopens it when it drops.

    The thread keeps only the newest frame (a live pool is about now, not a backlog). Reopening
    backs off from `retry_initial_s`, doubling to `retry_max_s`; after `max_retries` failed
    attempts in a row (0: never give up) the next `read` raises `SourceError`.
    """

    def __init__(self, cfg: SourceConfig, factory: CaptureFactory | None = None) -> None:
        self.cfg, self.skipped, self.dropped = cfg, 0, 0
        self.reconnecting = False
        self._target: int | str = int(cfg.uri) if cfg.uri.isdigit() else cfg.uri
        self._factory = factory or _open_capture
        self._stamper = _Stamper(cfg.fps)
        self._cond = threading.Condition()
        self._latest: np.ndarray | None = None
        self._error: SourceError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"source-{cfg.uri}", daemon=True)
        self._thread.start()

    def read(self, timeout_s: float) -> Frame | None:
        with self._cond:
            self._cond.wait_for(lambda: self._latest is not None or self._error, timeout_s)
            image, self._latest = self._latest, None
            if image is None and self._error is not None:
                raise self._error
        if image is None:
            raise TimeoutError(f"{self.cfg.uri}: no frame within {timeout_s:g} s")
        return self._stamper.stamp(image)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)

    def _run(self) -> None:
        capture = None
        try:
            while not self._stop.is_set():
                if capture is None:
                    capture = self._open_with_retry()
                    if capture is None:
                        return
                ok, image = capture.read()
                if not ok:
                    log.warning("%s: stream dropped, reopening", self.cfg.uri)
                    capture.release()
                    capture = None
                elif not usable_frame(image):
                    self.skipped += 1
                    log.warning("%s: skipped a frame of unusable shape", self.cfg.uri)
                else:
                    with self._cond:
                        self.dropped += self._latest is not None
                        self._latest = image
                        self._cond.notify_all()
        except Exception as error:  # a thread's failure must reach the reading loop
            if not isinstance(error, SourceError):
                log.exception("%s: reader thread failed", self.cfg.uri)
                error = SourceError(f"{self.cfg.uri}: reader failed ({error!r})")
            with self._cond:
                self._error = error
                self._cond.notify_all()
        finally:
            if capture is not None:
                capture.release()

    def _open_with_retry(self) -> Any | None:
        """An opened capture; None when closed meanwhile; SourceError when retries run out."""
        delay, failures = self.cfg.retry_initial_s, 0
        while not self._stop.is_set():
            capture = self._factory(self._target)
            if capture.isOpened():
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
                if failures:
                    log.info("%s: reopened after %d attempts", self.cfg.uri, failures + 1)
                self.reconnecting = False
                return capture
            capture.release()
            failures += 1
            if self.cfg.max_retries and failures > self.cfg.max_retries:
                self.reconnecting = False
                raise SourceError(f"{self.cfg.uri}: cannot open after {failures} attempts")
            self.reconnecting = self.cfg.max_retries > 0  # a back-off without end is a stall
            log.warning(
                "%s: cannot open (attempt %d), retrying in %.3g s", self.cfg.uri, failures, delay
            )
            self._stop.wait(delay)
            delay = min(delay * 2, self.cfg.retry_max_s)
        return None


def _open_capture(target: int | str) -> Any:
    """cv2.VideoCapture with bounded open/read waits for network streams."""
    if isinstance(target, str) and "://" in target:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
        params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
        return cv2.VideoCapture(target, cv2.CAP_ANY, params)
    return cv2.VideoCapture(target)


class Picamera2Source:
    """A Raspberry Pi camera through libcamera (picamera2), imported only when asked for."""

    reconnecting = False

    def __init__(self, cfg: SourceConfig) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise SourceError(PICAMERA2_HELP) from None
        try:
            self._camera = Picamera2(int(cfg.uri) if cfg.uri.isdigit() else 0)
            size = (cfg.width, cfg.height)
            # libcamera's "RGB888" is B,G,R in memory: exactly OpenCV's BGR.
            config = self._camera.create_video_configuration(
                main={"size": size, "format": "RGB888"}
            )
            self._camera.configure(config)
            self._camera.start()
        except (RuntimeError, IndexError) as error:
            raise SourceError(f"picamera2 camera {cfg.uri or 0}: cannot start ({error})") from None
        self.skipped = 0
        self._stamper = _Stamper(cfg.fps)

    def read(self, timeout_s: float) -> Frame | None:
        while True:
            try:
                image = self._camera.capture_array("main", wait=timeout_s)
            except RuntimeError as error:
                raise SourceError(f"picamera2: capture failed ({error})") from None
            if usable_frame(image):
                return self._stamper.stamp(image)
            self.skipped += 1
            log.warning("picamera2: skipped a frame of unusable shape")

    def close(self) -> None:
        self._camera.stop()
        self._camera.close()


def open_source(cfg: SourceConfig) -> FrameSource:
    """The frame source `cfg.kind` names, opened; SourceError if it cannot be."""
    openers: dict[str, Callable[[], FrameSource]] = {
        "video": lambda: VideoFileSource(cfg.uri, cfg.loop, cfg.fps),
        "camera": lambda: StreamSource(cfg),
        "images": lambda: ImageFolderSource(cfg.uri, cfg.loop, cfg.fps),
        "picamera2": lambda: Picamera2Source(cfg),
    }
    if cfg.kind not in openers:
        raise SourceError(f"unknown source kind {cfg.kind!r} (valid: {', '.join(openers)})")
    if not cfg.uri and cfg.kind != "picamera2":
        raise SourceError(f"source.uri is empty: a {cfg.kind} source needs one")
    log.info("opening %s source %s", cfg.kind, cfg.uri or "(default)")
    return openers[cfg.kind]()


def frames_until(
    source: FrameSource, done: Callable[[], bool], timeout_s: float = 0.5
) -> Iterator[Frame]:
    """The source's frames until it ends or `done()` says stop; a read that times out (between
    frames, or a camera reconnecting) only gives `done` another look."""
    while not done():
        try:
            frame = source.read(timeout_s)
        except TimeoutError:
            continue
        if frame is None:
            return
        yield frame
