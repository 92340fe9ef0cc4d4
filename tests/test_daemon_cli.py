"""`reid-edge` as a user meets it: --check-config, one-line errors, and a clean SIGTERM."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from broker import Collector, wait_until
from tiny_bundle import build_bundle

from edge.config import DeviceConfig, SpoolConfig, render_toml
from edge.mqtt.spool import Spool
from train.poolsim import sequences_from_folder, simulate_pool

REID_EDGE = str(Path(sys.executable).parent / "reid-edge")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("tiny"))[1]


def write_config(folder: Path, bundle: Path, extra: str = "", uri: str = "pool.avi") -> Path:
    """A valid config, then `extra` raw TOML (the bad keys and values under test)."""
    tables = {
        "device": {"state_dir": str(folder / "state")},
        "source": {"kind": "video", "uri": str(folder / uri)},
        "bundle": {"path": str(bundle)},
    }
    path = folder / "reid-edge.toml"
    path.write_text(render_toml(tables) + extra)
    return path


def reid_edge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([REID_EDGE, *args], capture_output=True, text=True, timeout=60)


def test_check_config_accepts_a_good_config(tmp_path: Path, bundle: Path) -> None:
    done = reid_edge("--config", str(write_config(tmp_path, bundle)), "--check-config")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(": ok")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("[mqtt]\nprot = 1883\n", "mqtt.prot: unknown key"),
        ("[mqtt]\nport = 'x'\n", "mqtt.port: expected int"),
        ("[tracker]\nidentity_frames = 1.5\n", "tracker.identity_frames: expected int"),
        # Renamed when its unit changed from crops to frames: refused, not read as frames.
        ("[tracker]\nidentity_window = 15\n", "tracker.identity_window: unknown key"),
        # Rules between keys, which the daemon used to hit only once running (issue 16):
        ("[tracker]\nidentity_frames = 5\nsettle_crops = 6\n", "tracker.settle_crops: need 1 <="),
        ("[spool]\nmax_events = 0\n", "spool.max_events: must be at least 1"),
        ("[detector]\nwater_hue_min = 140\nwater_hue_max = 100\n", "detector.water_hue_min/max"),
        ("[detector]\nkind = 'tflite'\n", 'detector.model: a "tflite" detector needs a model'),
        ("[detector]\nkind = 'tflite'\nmodel = 'gone.tflite'\n", "detector.model: no such file"),
        ("[mqtt.tls]\nenabled = true\nca_file = '/no/ca.pem'\n", "mqtt.tls.ca_file: no such file"),
        ("[mqtt]\nport = 70000\n", "mqtt.port: must be 1..65535"),
        ("[mqtt]\nstats_interval_s = nan\n", "mqtt.stats_interval_s: must be a finite number"),
    ],
)
def test_check_config_rejects_bad_keys_in_one_line(
    tmp_path: Path, bundle: Path, extra: str, named: str
) -> None:
    done = reid_edge("--config", str(write_config(tmp_path, bundle, extra)), "--check-config")
    assert done.returncode == 1
    assert named in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_check_config_refuses_a_tampered_bundle(tmp_path: Path, bundle: Path) -> None:
    tampered = tmp_path / "bundle"
    shutil.copytree(bundle, tampered)
    with (tampered / "classifier.npz").open("ab") as handle:
        handle.write(b"\0")
    done = reid_edge("--config", str(write_config(tmp_path, tampered)), "--check-config")
    assert done.returncode == 1
    assert "classifier.npz" in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_check_config_loads_the_tls_files(tmp_path: Path, bundle: Path) -> None:
    """A CA file that is there but is no certificate: the daemon could never connect."""
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    tls = f"[mqtt.tls]\nenabled = true\nca_file = '{garbage}'\n"
    done = reid_edge("--config", str(write_config(tmp_path, bundle, tls)), "--check-config")
    assert done.returncode == 1
    assert f"mqtt.tls.ca_file: cannot load {garbage}" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_an_unsigned_bundle_is_refused_once_a_key_is_trusted(tmp_path: Path, bundle: Path):
    """The daemon (and --check-config) read bundle.trusted_key: present, it must have signed."""
    key = tmp_path / "site.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True)
    public = tmp_path / "site.pub"
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", public], check=True)
    config = write_config(tmp_path, bundle)
    text = config.read_text().replace("[bundle]\n", f"[bundle]\ntrusted_key = '{public}'\n")
    config.write_text(text)
    for args in (["--check-config"], []):
        done = reid_edge("--config", str(config), *args)
        assert done.returncode != 0
        assert "unsigned bundle" in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_missing_bundle_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    done = reid_edge("--config", str(write_config(tmp_path, tmp_path / "nowhere")))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "nowhere" in done.stderr.strip().splitlines()[-1]


def test_sigterm_mid_run_finishes_flushes_and_exits_zero(
    tmp_path: Path, bundle: Path, broker, synthetic_data: Path
) -> None:
    simulate_pool(
        sequences_from_folder(synthetic_data),
        tmp_path / "pool.avi",
        tmp_path / "truth.json",
        frames=60,
    )
    status = Collector(broker.port, "reid/+/+")
    mqtt = f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
    config = write_config(tmp_path, bundle, mqtt)
    config.write_text(config.read_text().replace("uri =", "loop = true\nfps = 25.0\nuri ="))
    daemon = subprocess.Popen(
        [REID_EDGE, "--config", str(config)], stderr=subprocess.PIPE, text=True
    )
    assert wait_until(lambda: status.payloads("/events"), timeout=60)  # mid-run: swimmers named
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0, daemon.stderr.read()
    assert wait_until(lambda: status.payloads("/status")[-1:] == [b"offline"], timeout=10)
    status.close()
    assert (
        len(Spool.from_config(DeviceConfig(state_dir=str(tmp_path / "state")), SpoolConfig())) == 0
    )
