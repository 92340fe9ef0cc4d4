"""Frame sources: files end cleanly or loop, bad frames are skipped, cameras are retried."""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from broker import wait_until

from edge.config import SourceConfig
from edge.errors import SourceError
from edge.sources import (
    StreamSource,
    VideoFileSource,
    frames_until,
    natural_key,
    open_source,
    usable_frame,
)
from edge.types import Frame

SHADES = [10, 60, 110, 160, 210]


def write_video(path: Path, shades: list[int]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for shade in shades:
        writer.write(np.full((48, 64, 3), shade, np.uint8))
    writer.release()


def read_all(source, limit: int = 100) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read(1.0)) is not None:
        frames.append(frame)
    return frames


def test_video_file_reads_every_frame_then_ends(tmp_path: Path) -> None:
    write_video(tmp_path / "pool.avi", SHADES)
    source = open_source(SourceConfig(kind="video", uri=str(tmp_path / "pool.avi")))
    frames = read_all(source)
    source.close()
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert all(f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8 for f in frames)
    assert [int(f.image.mean()) for f in frames] == pytest.approx(SHADES, abs=3)
    assert frames[0].ts <= frames[-1].ts


def test_video_file_loops_when_asked(tmp_path: Path) -> None:
    write_video(tmp_path / "pool.avi", SHADES)
    source = open_source(SourceConfig(kind="video", uri=str(tmp_path / "pool.avi"), loop=True))
    frames = read_all(source, limit=12)
    source.close()
    assert [f.index for f in frames] == list(range(12))
    means = [int(f.image.mean()) for f in frames]
    assert means == pytest.approx(SHADES + SHADES + SHADES[:2], abs=3)


class ListCapture:
    """A cv2.VideoCapture stand-in that plays a list of images, then reports the end."""

    def __init__(self, images: list, opened: bool = True) -> None:
        self.images, self.opened = list(images), opened

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def read(self):
        return (True, self.images.pop(0)) if self.images else (False, None)

    def set(self, prop: int, value: float) -> bool:
        return True

    def release(self) -> None:
        self.opened = False


def test_video_frames_of_the_wrong_shape_are_skipped(tmp_path: Path, caplog) -> None:
    (tmp_path / "v.avi").write_bytes(b"x")
    good = np.zeros((4, 6, 3), np.uint8)
    bad = [
        np.zeros((4, 6), np.uint8),
        np.zeros((4, 6, 3), np.float32),
        np.zeros((0, 6, 3), np.uint8),
    ]
    source = VideoFileSource(str(tmp_path / "v.avi"), factory=lambda _: ListCapture([*bad, good]))
    frames = read_all(source)
    assert len(frames) == 1 and frames[0].image is good
    assert source.skipped == 3
    assert "unusable shape" in caplog.text


def test_image_folder_in_natural_order_skipping_a_corrupt_file(tmp_path: Path, caplog) -> None:
    for number, shade in [(10, 30), (2, 20), (1, 10)]:
        cv2.imwrite(str(tmp_path / f"frame_{number}.png"), np.full((8, 8, 3), shade, np.uint8))
    (tmp_path / "frame_3.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "notes.txt").write_text("ignored")
    with caplog.at_level(logging.WARNING):
        source = open_source(SourceConfig(kind="images", uri=str(tmp_path)))
        frames = read_all(source)
    assert [int(f.image[0, 0, 0]) for f in frames] == [10, 20, 30]
    assert [f.index for f in frames] == [0, 1, 2]
    assert source.skipped == 1
    assert "frame_3.jpg" in caplog.text


def test_image_folder_loops(tmp_path: Path) -> None:
    for number in (1, 2):
        cv2.imwrite(str(tmp_path / f"{number}.png"), np.full((8, 8, 3), number, np.uint8))
    source = open_source(SourceConfig(kind="images", uri=str(tmp_path), loop=True))
    assert [int(f.image[0, 0, 0]) for f in read_all(source, limit=5)] == [1, 2, 1, 2, 1]


def test_natural_order() -> None:
    names = ["f_10.jpg", "f_9.jpg", "F_100.jpg", "f_1.jpg"]
    assert [p.name for p in sorted(map(Path, names), key=natural_key)] == [
        "f_1.jpg",
        "f_9.jpg",
        "f_10.jpg",
        "F_100.jpg",
    ]


@pytest.mark.parametrize(
    ("kind", "uri", "message"),
    [
        ("video", "/no/such/file.mp4", "no such video file"),
        ("images", "/no/such/folder", "no such image folder"),
        ("video", "", "source.uri is empty"),
        ("webcam", "0", "valid: video, camera, images, picamera2"),
    ],
)
def test_bad_sources_are_one_clear_error(kind: str, uri: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        open_source(SourceConfig(kind=kind, uri=uri))  # type: ignore[arg-type]


def test_empty_image_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no images"):
        open_source(SourceConfig(kind="images", uri=str(tmp_path)))


def test_undecodable_video(tmp_path: Path) -> None:
    (tmp_path / "broken.mp4").write_bytes(b"\0" * 100)
    with pytest.raises(SourceError, match="cannot decode"):
        open_source(SourceConfig(kind="video", uri=str(tmp_path / "broken.mp4")))


CAMERA = SourceConfig(kind="camera", uri="0", retry_initial_s=0.01, retry_max_s=0.04)


def test_camera_that_never_opens_is_retried_with_back_off_then_fails(caplog) -> None:
    attempts = []

    def factory(target):
        attempts.append(target)
        return ListCapture([], opened=False)

    with caplog.at_level(logging.WARNING):
        source = StreamSource(replace(CAMERA, max_retries=4), factory=factory)
        with pytest.raises(SourceError, match="cannot open after 5 attempts"):
            source.read(5.0)
    source.close()
    assert attempts == [0] * 5
    waits = [r.getMessage().rsplit("retrying in ", 1)[1] for r in caplog.records]
    assert waits == ["0.01 s", "0.02 s", "0.04 s", "0.04 s"]


def test_camera_that_drops_is_reopened(caplog) -> None:
    first = [np.full((4, 4, 3), 1, np.uint8)]

    class Endless(ListCapture):
        def read(self):
            return True, np.full((4, 4, 3), 2, np.uint8)

    captures = iter([ListCapture(first), ListCapture([], opened=False), Endless([])])
    source = StreamSource(CAMERA, factory=lambda _: next(captures))
    seen = set()
    with caplog.at_level(logging.WARNING):
        while 2 not in seen:
            seen.add(int(source.read(5.0).image[0, 0, 0]))
    assert not source.reconnecting  # reopened
    source.close()
    assert "stream dropped" in caplog.text
    assert "cannot open (attempt 1)" in caplog.text


def test_a_stalled_camera_times_out_instead_of_blocking() -> None:
    release = threading.Event()

    class Stalled(ListCapture):
        def read(self):
            release.wait(5.0)
            return False, None

    source = StreamSource(replace(CAMERA, max_retries=1), factory=lambda _: Stalled([]))
    with pytest.raises(TimeoutError, match=r"no frame within 0\.05 s"):
        source.read(0.05)
    release.set()
    source.close()


def test_picamera2_absent_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(SourceError, match="python3-picamera2"):
        open_source(SourceConfig(kind="picamera2"))


def test_usable_frame() -> None:
    assert usable_frame(np.zeros((2, 3, 3), np.uint8))
    assert not usable_frame(np.zeros((2, 3, 4), np.uint8))
    assert not usable_frame(None)


def test_a_failing_reader_thread_surfaces_as_source_error() -> None:
    def factory(target):
        raise OSError("device busy")

    source = StreamSource(CAMERA, factory=factory)
    with pytest.raises(SourceError, match="device busy"):
        source.read(5.0)
    source.close()


@pytest.mark.parametrize(("max_retries", "expected"), [(100, True), (0, False)])
def test_reconnecting_is_said_only_for_a_bounded_back_off(max_retries, expected) -> None:
    """The daemon feeds the systemd watchdog while a bounded reopen is under way; a back-off
    without end is a stall like any other."""
    cfg = replace(CAMERA, retry_initial_s=0.05, retry_max_s=0.05, max_retries=max_retries)
    attempts = []

    def factory(_: object) -> ListCapture:
        attempts.append(1)
        return ListCapture([], opened=False)

    source = StreamSource(cfg, factory=factory)
    for after in (3, 6):  # in the back-off, and several failed attempts later still
        assert wait_until(lambda n=after: len(attempts) >= n, timeout=10)
        assert source.reconnecting is expected
    source.close()


def test_frames_until_skips_timeouts_and_stops_when_asked() -> None:
    class Slow:
        """Times out every other read, never ends."""

        def __init__(self) -> None:
            self.reads = 0

        def read(self, timeout_s: float):
            self.reads += 1
            if self.reads % 2:
                raise TimeoutError
            return Frame(self.reads, 0.0, np.zeros((2, 2, 3), np.uint8))

    source = Slow()
    got = []
    for frame in frames_until(source, lambda: len(got) >= 3):
        got.append(frame.index)
    assert got == [2, 4, 6]
