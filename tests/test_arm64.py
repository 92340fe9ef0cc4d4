"""The device code on the Pi's instruction set, in CI: `reid-check --device` and `reid-identify`
under qemu user emulation as a Pi 4's Cortex-A72 (tests/arm64_sysroot.sh builds the arm64 Python
in about half a minute), against this host's answers on the same bundle and crops.

This is the cached subset of `make pi-check`, which installs into a whole debootstrapped root
with systemd/install.sh and runs the daemon there, too slow for CI's 30 minutes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from pipeline_support import BIN, QUIET_TF, REPO, Pool
from system_parts import missing

from convert.probes import MAX_SCORE_DIFF
from train.data import list_samples, time_split

pytestmark = pytest.mark.slow

CROPS_PER_SWIMMER = 5
DEVICE_CHECK = "import sys; from edge.probes import main; sys.exit(main())"


@pytest.fixture(scope="module")
def arm64(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The arm64 python runner, or a skip (a failure in CI) saying what is missing."""
    if shutil.which("qemu-aarch64-static") is None:
        missing("qemu-user-static is not installed")
    if not Path("/usr/share/keyrings/debian-archive-keyring.gpg").is_file():
        missing("debian-archive-keyring is not installed")
    folder = tmp_path_factory.mktemp("arm64")
    script = REPO / "tests" / "arm64_sysroot.sh"
    done = subprocess.run(["bash", str(script), str(folder)], capture_output=True, text=True,
                          timeout=900, env={**QUIET_TF, "PYTHON": str(BIN / "python")})  # fmt: skip
    if done.returncode != 0:
        missing(f"the arm64 Python could not be built (no package mirror?): {done.stderr[-800:]}")
    return folder / "py"


def on_arm64(runner: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(runner), *args], capture_output=True, text=True, timeout=600,
                          env=QUIET_TF)  # fmt: skip


def test_it_is_arm64_with_the_runtime_a_pi_gets(arm64: Path) -> None:
    code = "import platform; from edge.vision.runtime import runtime_name; "
    code += "print(platform.machine(), runtime_name())"
    done = on_arm64(arm64, "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["aarch64", "ai_edge_litert.interpreter"]


def test_the_device_check_accepts_the_bundle_on_arm64(arm64: Path, pool: Pool) -> None:
    done = on_arm64(arm64, "-c", DEVICE_CHECK, str(pool.bundle))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"device check ok: {pool.bundle}: "), done.stdout


def test_arm64_names_every_crop_as_this_host_does(arm64: Path, pool: Pool) -> None:
    crops: list[str] = []
    for sample in time_split(list_samples(pool.data)).test:
        if sum(Path(c).parent.name == sample.identity for c in crops) < CROPS_PER_SWIMMER:
            crops.append(str(sample.path))
    command = ["-m", "edge.vision.identify", str(pool.bundle), *crops, "--json"]
    arm = on_arm64(arm64, *command)
    assert arm.returncode == 0, arm.stderr
    host = subprocess.run([str(BIN / "python"), *command], capture_output=True, text=True,
                          timeout=300, env=QUIET_TF, cwd=REPO)  # fmt: skip
    assert host.returncode == 0, host.stderr
    arm_rows, host_rows = (
        {row["path"]: row for row in map(json.loads, done.stdout.splitlines())}
        for done in (arm, host)
    )
    assert len(arm_rows) == len(crops) == len(host_rows)
    for path, row in host_rows.items():
        assert arm_rows[path]["swimmer_id"] == row["swimmer_id"], path
        assert abs(arm_rows[path]["score"] - row["score"]) <= MAX_SCORE_DIFF, path
