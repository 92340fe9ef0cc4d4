"""`reid-edge --snapshot`: one frame of the configured source through the daemon's own detector
and Identifier, drawn with the lanes; a line per swimmer; one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import pytest
from pipeline_support import BIN, QUIET_TF, Pool, daemon_config

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
