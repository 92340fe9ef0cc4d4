"""`reid-edge --snapshot`: one frame of the configured source through the daemon's own detector
and Identifier, drawn with the lanes; a line per swimmer; one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import pytest
from pipeline_support import BIN, QUIET_TF, Pool, daemon_config

from demo.run import later_frames
from edge.config import render_toml
from train.poolsim import simulate_pool

pytestmark = pytest.mark.slow

CLOSED_PORT = 9  # the snapshot never connects to the broker


def snapshot(config: Path, out: Path) -> subprocess.CompletedProcess:
    command = [str(BIN / "reid-edge"), "--config", str(config), "--snapshot", str(out)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=QUIET_TF)


def test_the_snapshot_shows_every_swimmer_in_its_lane(pool: Pool, tmp_path: Path) -> None:
    out = tmp_path / "aim.png"
    done = snapshot(daemon_config(tmp_path, pool, CLOSED_PORT), out)
    assert done.returncode == 0, done.stderr
    *lines, summary = done.stdout.strip().splitlines()
    truth = json.loads(pool.truth.read_text())
    in_view = truth["frames"][0]["swimmers"]
    assert summary == f"{out}: {len(lines)} swimmer(s) seen"
    assert sorted(int(line.split("\t")[0].removeprefix("lane ")) for line in lines) == sorted(
        swimmer["lane"] + 1
        for swimmer in in_view  # the simulator counts lanes from 0
    )
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[:2] == (truth["height"], truth["width"])
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"out": "no-such-dir/aim.png"}, "cannot write the snapshot"),
        ({"uri": "missing.avi"}, "missing.avi"),
    ],
)
def test_a_snapshot_that_cannot_be_taken_is_one_line(pool, tmp_path, change, message) -> None:
    config = daemon_config(tmp_path, pool, CLOSED_PORT)
    if "uri" in change:
        text = config.read_text().replace(str(pool.video), str(tmp_path / change["uri"]))
        config.write_text(text)
    out = tmp_path / change.get("out", "aim.png")
    done = snapshot(config, out)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert message in last and "Traceback" not in done.stderr, done.stderr


def test_a_missing_camera_is_one_line(pool, tmp_path) -> None:
    config = daemon_config(tmp_path, pool, CLOSED_PORT, kind="camera", uri="/dev/no-camera",
                           max_retries=1, retry_initial_s=0.1)  # fmt: skip
    done = snapshot(config, tmp_path / "aim.png")
    assert done.returncode != 0 and not (tmp_path / "aim.png").exists()
    last = done.stderr.strip().splitlines()[-1]
    assert last == "reid-edge: error: /dev/no-camera: cannot open after 2 attempts", done.stderr


def test_the_snapshot_puts_swimmers_in_lanes_seen_in_perspective(pool: Pool, tmp_path) -> None:
    """A pole camera: the lanes converge, and [pool] lane_lines says where."""
    video = simulate_pool(later_frames(pool.data), tmp_path / "pole.avi", tmp_path / "pole.json",
                          frames=1, perspective=0.4)  # fmt: skip
    truth = json.loads((tmp_path / "pole.json").read_text())
    config = daemon_config(tmp_path, pool, CLOSED_PORT, uri=str(video))
    geometry = {"lane_lines": truth["lane_lines"], "water": truth["water"]}
    config.write_text(config.read_text() + "\n" + render_toml({"pool": geometry}))
    done = snapshot(config, tmp_path / "aim.png")
    assert done.returncode == 0, done.stderr
    lanes = [
        int(line.split("\t")[0].removeprefix("lane ")) for line in done.stdout.splitlines()[:-1]
    ]
    assert sorted(lanes) == sorted(s["lane"] + 1 for s in truth["frames"][0]["swimmers"])
