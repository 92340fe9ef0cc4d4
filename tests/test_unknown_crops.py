"""[unknown_crops]: the daemon keeps the crops of tracks that end unknown, bounded, in the state
directory, laid out for the next enrolment round; off by default; a failed write is a warning."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pipeline_support import BIN, QUIET_TF, Pool, daemon_config

from demo.naming import collected_tracks, read_index
from demo.run import STRANGER
from edge.config import UnknownCropsConfig
from edge.enrolment.unknown_crops import FOLDER, UnknownCrops
from edge.geometry import PoolGeometry
from edge.tracking.track import TrackChange
from edge.types import Box, Crop, Frame

PATIENCE = 3
RNG = np.random.default_rng(0)


def swim(keeper: UnknownCrops, key: int, frames: range) -> None:
    """A track `key` seen in every one of `frames`, its crops random (so unlike each other)."""
    for index in frames:
        image = np.zeros((720, 1280, 3), np.uint8)
        pixels = RNG.integers(0, 255, (64, 40, 3), dtype=np.uint8)
        crop = Crop(index, Box(100 + 10 * key, 100, 40, 90), pixels)
        keeper.see(Frame(index, float(index), image), [crop], [key])


def end(key: int, swimmer: str | None) -> TrackChange:
    return TrackChange("end", key, swimmer, 0.5, Box(0, 0, 1, 1), key)


def keeper(tmp_path: Path, **cfg: object) -> UnknownCrops:
    config = UnknownCropsConfig(enabled=True, **{"per_track": 4, **cfg})
    return UnknownCrops(config, tmp_path, PoolGeometry.from_config(1280, 720, 8), PATIENCE)


def folders(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / FOLDER).glob("track_*"))


def test_a_track_ending_unknown_is_kept_and_a_named_one_is_not(tmp_path: Path) -> None:
    keep = keeper(tmp_path)
    swim(keep, 1, range(0, 60))
    swim(keep, 2, range(0, 60))
    keep.ended([end(1, None), end(2, "anna")], 60)
    assert folders(tmp_path) == ["track_0001"]
    assert len(list((tmp_path / FOLDER / "track_0001").glob("frame_*.jpg"))) == 4
    index = read_index(tmp_path / FOLDER)
    assert [t["name"] for t in index["tracks"]] == ["track_0001"]
    assert (tmp_path / FOLDER / "index.html").is_file()
    assert len(keep.live) == 0


def test_tracks_never_announced_are_forgotten(tmp_path: Path) -> None:
    keep = keeper(tmp_path)
    swim(keep, 1, range(0, 5))  # a splash: the tracker drops it without an `end`
    keep.ended([], 5 + PATIENCE + 2)
    assert len(keep.live) == 0 and folders(tmp_path) == []


def test_the_folder_is_bounded_and_numbers_go_on_after_a_restart(tmp_path: Path) -> None:
    for key in (1, 2, 3):
        keep = keeper(tmp_path, max_tracks=2)  # a new daemon each time
        swim(keep, key, range(0, 30))
        keep.ended([end(key, None)], 30)
    assert folders(tmp_path) == ["track_0002", "track_0003"]
    keep = keeper(tmp_path, max_mb=1e-6)  # smaller than any track: only the newest stays
    swim(keep, 4, range(0, 30))
    keep.ended([end(4, None)], 30)
    assert folders(tmp_path) == ["track_0004"]


def test_a_failed_write_is_a_warning_and_the_daemon_goes_on(tmp_path: Path, caplog) -> None:
    (tmp_path / FOLDER).write_text("a file where the folder should be")
    keep = keeper(tmp_path)
    swim(keep, 1, range(0, 30))
    with caplog.at_level(logging.WARNING):
        keep.ended([end(1, None)], 30)
    assert "unknown crops not kept" in caplog.text


@pytest.mark.slow
def test_the_daemon_keeps_the_strangers_crops_only_when_enabled(
    pool: Pool, broker, tmp_path: Path
) -> None:
    for enabled in (False, True):
        folder = tmp_path / str(enabled)
        folder.mkdir()
        config = daemon_config(folder, pool, broker.port)
        config.write_text(
            config.read_text() + f"\n[unknown_crops]\nenabled = {str(enabled).lower()}\n"
        )
        command = [str(BIN / "reid-edge"), "--config", str(config)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=QUIET_TF)
        assert done.returncode == 0, done.stderr[-2000:]
        kept = folder / "state" / FOLDER
        if not enabled:
            assert not kept.exists()
            continue
        tracks = collected_tracks(read_index(kept), json.loads(pool.truth.read_text()))
        assert STRANGER in [t.swimmer for t in tracks], tracks  # never named: always kept
        assert all(t.purity == 1.0 and t.crops <= UnknownCropsConfig().per_track for t in tracks)
