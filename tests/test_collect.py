"""`reid-collect`: one folder per swimmer visit from a pool video, the crops chosen sharp and
unlike each other, a contact sheet a real browser shows, and one-line errors."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from pipeline_support import BIN, QUIET_TF, REPO, Pool, daemon_config
from system_parts import missing

from demo.naming import collected_tracks, read_index, visits
from demo.run import later_frames
from edge.config import TrackerConfig
from edge.enrolment.track_crops import (
    MIN_BOX_PX,
    THIN_AT,
    Candidate,
    TrackCrops,
    most_unlike,
    usable_box,
)
from edge.types import Box, Crop, Frame
from train.poolsim import simulate_pool

CLOSED_PORT = 9  # collecting never talks to a broker
PER_TRACK = 12


def collect(
    config: Path, out: Path, *extra: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    command = [str(BIN / "reid-collect"), "--config", str(config), "--out", str(out), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=QUIET_TF)


@pytest.fixture(scope="module")
def collected(pool: Pool, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("collect")
    out = folder / "tracks"
    done = collect(daemon_config(folder, pool, CLOSED_PORT), out, "--per-track", str(PER_TRACK))
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_one_folder_per_visit_holding_its_swimmer(pool: Pool, collected: Path) -> None:
    truth = json.loads(pool.truth.read_text())
    tracks = collected_tracks(read_index(collected), truth)
    tracker = TrackerConfig()
    assert len(tracks) == visits(truth, tracker.max_missed, tracker.settle_crops)
    assert sorted(t.swimmer for t in tracks) == sorted(
        {s["identity"] for f in truth["frames"] for s in f["swimmers"]}
    )
    for track in tracks:
        assert track.purity >= 0.98, track
        folder = collected / track.name
        assert 1 <= len(list(folder.glob("frame_*.jpg"))) <= PER_TRACK
    sheet = (collected / "index.html").read_text()
    assert all(f'{t.name} = ""' in sheet for t in tracks)  # the names.toml to copy


@pytest.mark.slow
def test_reid_collect_does_not_rejoin_so_no_folder_mixes_swimmers(
    pool: Pool, tmp_path: Path
) -> None:
    """Unseen for a second after every turn, with `tracker.rejoin_frames` in the config: the
    daemon would continue a swimmer's track after each glide, but reid-collect closes a folder
    at each one (a wrong continuation would mix two swimmers in a folder), each folder once."""
    video = simulate_pool(later_frames(pool.data), tmp_path / "turns.avi", tmp_path / "t.json",
                          frames=300, submerged=25)  # fmt: skip
    rejoin = {"tracker": {"rejoin_frames": 50}}
    done = collect(daemon_config(tmp_path, pool, CLOSED_PORT, rejoin, uri=str(video)),
                   tmp_path / "tracks")  # fmt: skip
    assert done.returncode == 0, done.stderr
    truth = json.loads((tmp_path / "t.json").read_text())
    index = read_index(tmp_path / "tracks")
    names = [t["name"] for t in index["tracks"]]
    assert len(names) == len(set(names))
    tracks = collected_tracks(index, truth)
    assert len(tracks) > len(later_frames(pool.data)), "no swimmer went under long enough"
    assert all(t.purity >= 0.98 for t in tracks), tracks


@pytest.mark.slow
def test_the_contact_sheet_shows_every_track_in_a_real_browser(collected: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        missing("Debian's chromium is not installed")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
               (collected / "index.html").as_uri()]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    index = read_index(collected)
    crops = sum(len(t["crops"]) for t in index["tracks"])
    assert f"{crops} of {crops} crops shown" in done.stdout  # set by the page once loaded
    assert all(f'<tr id="{t["name"]}">' in done.stdout for t in index["tracks"])


@pytest.mark.slow
def test_a_crop_removed_after_the_run_shows_as_missing(collected: Path, tmp_path: Path) -> None:
    """The sheet's count is the browser's, not the writer's: it can say something is wrong."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        missing("Debian's chromium is not installed")
    copy = tmp_path / "tracks"
    shutil.copytree(collected, copy)
    next(copy.glob("track_*/frame_*.jpg")).unlink()
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
               (copy / "index.html").as_uri()]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    crops = sum(len(t["crops"]) for t in read_index(copy)["tracks"])
    assert f"{crops - 1} of {crops} crops shown" in done.stdout


def _candidate(frame: int, thumb: np.ndarray, sharpness: float = 1.0) -> Candidate:
    image = np.zeros((4, 4, 3), np.uint8)
    return Candidate(frame, Box(0, 0, 4, 4), image, sharpness, thumb / np.linalg.norm(thumb))


def test_most_unlike_skips_near_duplicates_and_keeps_time_order() -> None:
    rng = np.random.default_rng(0)
    look = rng.normal(size=20)
    twins = [_candidate(i, look + rng.normal(scale=1e-3, size=20)) for i in range(6)]
    others = [_candidate(10 + i, rng.normal(size=20)) for i in range(3)]
    chosen = most_unlike(twins + others, 4)
    assert sum(c in twins for c in chosen) == 1
    assert [c.frame for c in chosen] == sorted(c.frame for c in chosen)


def test_the_sharpest_blur_free_crops_are_chosen() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (128, 80, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(image, (15, 15), 5)
    track = _track()
    for index in range(10):
        crop = Crop(index * 5, Box(10, 10, 40, 80), blurred if index == 3 else image)
        track.see(Frame(index * 5, 0.0, image), crop, True, per_track=10)
    assert len(track.candidates) == 10
    assert 15 not in [c.frame for c in track.chosen(10)]  # frame 15 is the blurred one


def test_a_long_track_holds_a_bounded_number_of_crops() -> None:
    rng = np.random.default_rng(2)
    track = _track()
    for index in range(0, 5000, 5):
        crop = Crop(index, Box(10, 10, 40, 80), rng.integers(0, 255, (32, 20, 3), dtype=np.uint8))
        track.see(Frame(index, 0.0, crop.image), crop, True, per_track=5)
        assert len(track.candidates) <= THIN_AT * 5
    assert track.boxes == 1000 and len(track.chosen(5)) == 5


def _track() -> TrackCrops:
    return TrackCrops.starting(1, 1, Frame(0, 0.0, np.zeros((1, 1, 3), np.uint8)))


@pytest.mark.parametrize(
    ("box", "usable"),
    [
        (Box(100, 100, 40, 90), True),
        (Box(0, 100, 40, 90), True),  # cut by the edge: the daemon sees such crops too
        (Box(100, 100, 40, MIN_BOX_PX - 1), False),  # too small to learn from
    ],
)
def test_usable_boxes_are_big_enough(box: Box, usable: bool) -> None:
    assert usable_box(box) is usable


@pytest.mark.slow
def test_ctrl_c_ends_the_session_and_keeps_the_tracks(pool: Pool, tmp_path: Path) -> None:
    config = daemon_config(tmp_path, pool, CLOSED_PORT, loop=True)
    out = tmp_path / "tracks"
    command = [str(BIN / "reid-collect"), "--config", str(config), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=QUIET_TF)  # fmt: skip
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        line = process.stderr.readline()  # progress every few seconds: frames are flowing
        if "frames" in line and "tracks written" in line:
            break
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert stdout.strip().splitlines()[-1].startswith(f"{out / 'index.html'}: ")
    assert read_index(out)["tracks"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not-empty", "not an empty folder"),
        ("no-video", "no such video file"),
        ("bad-key", "collect_frames"),
    ],
)
def test_bad_input_is_one_line(pool: Pool, tmp_path: Path, case: str, message: str) -> None:
    config = daemon_config(tmp_path, pool, CLOSED_PORT)
    out, extra = tmp_path / "tracks", []
    if case == "not-empty":
        out.mkdir()
        (out / "track_0001").mkdir()
    elif case == "no-video":
        extra = ["--video", str(tmp_path / "missing.avi")]
    else:
        config.write_text(config.read_text() + "\ncollect_frames = 3\n")
    done = collect(config, out, *extra)
    assert done.returncode != 0
    assert message in done.stderr.strip().splitlines()[-1], done.stderr
    assert "Traceback" not in done.stderr
    assert case == "not-empty" or not out.exists()


FULL_DISK = """
import resource, signal, sys
from edge.enrolment.collect import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
resource.setrlimit(resource.RLIMIT_FSIZE, (2048, resource.RLIM_INFINITY))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_full_disk_is_one_line(pool: Pool, tmp_path: Path) -> None:
    """A file-size limit makes the disk 'full' for this child only."""
    config = daemon_config(tmp_path, pool, CLOSED_PORT)
    args = ["--config", str(config), "--out", str(tmp_path / "tracks")]
    command = [sys.executable, "-c", FULL_DISK, *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO,
                          env=QUIET_TF)  # fmt: skip
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "cannot write" in last and "File too large" in last, done.stderr
    assert "Traceback" not in done.stderr
