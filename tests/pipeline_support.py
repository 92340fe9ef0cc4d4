"""A trained bundle and a simulated pool video, built once per test session by the real commands.

With ../shared present the embedder is trained on the real crops' earlier frames (time split) and
the pool is populated with their later frames, so the daemon sees frames the model never saw;
without it, the synthetic swimmers stand in. As in the demo, swimmer `STRANGER` is kept out of
the bundle and swims beside its lookalike: the daemon must answer it unknown with the bundle's
own thresholds. Training is short here (the e2e tests prove the
plumbing and the vote, bench/ measures the recipe), but the model, quantization and runtime are
the real ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from demo.run import STRANGER, enrol_from_camera, later_frames, without
from edge.config import render_toml
from train.poolsim import simulate_pool
from train.synth import generate_dataset

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "swimmers"
BIN = Path(sys.executable).parent
QUICK_EPOCHS = 20  # enough for the plumbing and the vote; the bench measures the full recipe
# A hung command fails the tests rather than CI's clock; training is the one that is slow. Those
# 20 epochs on the real crops took 606 s on a slow 2-core AMD EPYC with nothing else running
# (past the 600 s every other command gets); a slow CI host is slower still.
COMMAND_TIMEOUT_S = 600
TRAIN_TIMEOUT_S = 1800
POOL_FRAMES = 240
LANES = 8
RECONNECT_MAX_S = 2.0  # a broker that comes back is found again quickly
QUIET_TF = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@dataclass(frozen=True)
class Pool:
    data: Path  # crops the bundle was trained from (all but the stranger's)
    converted: Path  # reid-convert's bundle, with the quantization check's metrics
    bundle: Path  # the converted bundle, enrolled again from the pool camera
    video: Path
    truth: Path
    real: bool

    def truth_frames(self) -> list[dict]:
        return json.loads(self.truth.read_text())["frames"]


def run_command(
    *args: str | Path, timeout: float = COMMAND_TIMEOUT_S
) -> subprocess.CompletedProcess:
    """Run one of the project's console scripts from this virtualenv; fail with its stderr."""
    command = [str(BIN / str(args[0])), *map(str, args[1:])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=QUIET_TF)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"
    return done


def build_pool(folder: Path) -> Pool:
    """Train and convert on the known swimmers' crops, enrol them again from the simulated pool
    camera (demo/run.py: reid-collect on the session's start, their earlier frames, named by
    the truth), then simulate the session's later frames with the stranger among them."""
    real = REAL_DATA.is_dir()
    everyone = REAL_DATA if real else generate_dataset(folder / "crops", identities=7, frames=80)
    data = without(everyone, STRANGER, folder / "known")
    run_command(
        "reid-train",
        "--data",
        data,
        "--out",
        folder / "run",
        "--epochs",
        QUICK_EPOCHS,
        "--no-progress",
        timeout=TRAIN_TIMEOUT_S,
    )
    run_command("reid-convert", folder / "run", "--data", data, "--out", folder / "trained")
    bundle = enrol_from_camera(folder, data, folder / "trained")
    video = simulate_pool(
        later_frames(everyone),
        folder / "pool.avi",
        folder / "truth.json",
        frames=POOL_FRAMES,
        lanes=LANES,
    )
    return Pool(data, folder / "trained", bundle, video, folder / "truth.json", real)


def daemon_config(
    folder: Path, pool: Pool, port: int, tables: dict | None = None, **source: object
) -> Path:
    """A reid-edge TOML for this pool video and broker; `source` adds keys such as loop/fps,
    `tables` more tables (tracker, ...)."""
    path = folder / "reid-edge.toml"
    config = {
        "device": {"name": "test-pi", "state_dir": str(folder / "state")},
        "source": {"kind": "video", "uri": str(pool.video), **source},
        "bundle": {"path": str(pool.bundle)},
        "mqtt": {
            "host": "127.0.0.1",
            "port": port,
            "stats_interval_s": 1.0,
            "reconnect_max_s": RECONNECT_MAX_S,
        },
    }
    path.write_text(render_toml({**config, **(tables or {})}))
    return path
