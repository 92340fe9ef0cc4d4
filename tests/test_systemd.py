"""The systemd unit and systemd/install.sh, checked with the real tools.

`systemd-analyze verify` and `systemd-analyze security --offline` judge the unit file; install.sh
runs for real into a staging root (`--root`, which never calls apt, pip or systemctl) with an
interpreter that already has the package (`--python`), so no test installs anything.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from install_support import INSTALL, installed, mode, run_install, snapshot
from system_parts import REQUIRED

from edge.config import BundleConfig, DeviceConfig, MqttConfig

REPO = Path(__file__).resolve().parents[1]
SYSTEMD = REPO / "systemd"
UNIT = SYSTEMD / "reid-edge.service"
MAX_EXPOSURE = 2.0

# Where CI requires the system parts (tests/system_parts.py) these run, and fail if it is missing.
needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and not REQUIRED,
    reason="systemd-analyze is not installed",
)


# --- The unit file -----------------------------------------------------------------------------


@needs_analyze
@pytest.mark.parametrize("unit", sorted(SYSTEMD.glob("*.service")), ids=lambda p: p.name)
def test_unit_passes_systemd_analyze_verify(unit, python_env, tmp_path):
    """Verified as installed: only /opt/reid-edge is rewritten to the staging root so that
    verify's check that ExecStart= exists looks at the file install.sh put there."""
    root = tmp_path / "root"
    root.mkdir()
    installed(root, python_env)
    text = (root / "etc/systemd/system" / unit.name).read_text()
    staged = tmp_path / "check" / unit.name
    staged.parent.mkdir()
    staged.write_text(text.replace("/opt/reid-edge/", f"{root}/opt/reid-edge/"))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(staged)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings to verify: any line about the unit fails.
    assert [line for line in result.stderr.splitlines() if unit.name in line] == []


@needs_analyze
def test_unit_exposure_is_at_most_two():
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for reid-edge\.service: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_unit_agrees_with_the_config_defaults():
    """The paths the unit sets up are the ones the daemon's defaults read."""
    unit = unit_settings()
    assert unit["Type"] == ["notify"]
    assert unit["ExecStart"] == [
        "/opt/reid-edge/venv/bin/reid-edge --config /etc/reid-edge/reid-edge.toml"
    ]
    assert f"/var/lib/{unit['StateDirectory'][0]}" == DeviceConfig().state_dir
    assert BundleConfig().path == f"/etc/{unit['ConfigurationDirectory'][0]}/bundle"
    credential = unit["LoadCredential"][0].split(":")[0]
    assert credential == MqttConfig().password_credential
    assert int(unit["WatchdogSec"][0]) > 0


# --- install.sh --root -------------------------------------------------------------------------


def test_install_stages_the_tree_and_a_second_run_changes_nothing(python_env, tmp_path):
    installed(tmp_path, python_env)
    etc = tmp_path / "etc/reid-edge"
    example = (REPO / "examples/reid-edge.toml").read_bytes()
    assert (etc / "reid-edge.toml").read_bytes() == example
    assert (tmp_path / "opt/reid-edge/reid-edge.toml.example").read_bytes() == example
    assert mode(etc / "credentials") == 0o700
    assert (etc / "credentials/mqtt-password").read_bytes() == b""
    assert mode(etc / "credentials/mqtt-password") == 0o600
    unit = tmp_path / "etc/systemd/system/reid-edge.service"
    assert unit.read_bytes() == UNIT.read_bytes()
    wants = tmp_path / "etc/systemd/system/multi-user.target.wants/reid-edge.service"
    assert os.readlink(wants) == "/etc/systemd/system/reid-edge.service"
    assert os.readlink(tmp_path / "opt/reid-edge/venv/bin/reid-edge") == str(
        python_env.parent / "reid-edge"
    )

    before = snapshot(tmp_path)
    again = installed(tmp_path, python_env)
    assert snapshot(tmp_path) == before
    assert again.stdout == ""


def test_install_never_overwrites_the_users_config(python_env, tmp_path):
    installed(tmp_path, python_env)
    config = tmp_path / "etc/reid-edge/reid-edge.toml"
    config.write_text('[mqtt]\nhost = "broker.lan"\n')
    installed(tmp_path, python_env)
    assert config.read_text() == '[mqtt]\nhost = "broker.lan"\n'


def test_a_broken_config_is_reported_not_fatal(python_env, tmp_path):
    config = tmp_path / "etc/reid-edge/reid-edge.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[mqtt]\nhots = 1\n")
    result = installed(tmp_path, python_env)
    assert "warning: mqtt.hots: unknown key" in result.stdout


def test_uninstall_removes_what_it_installed(python_env, tmp_path):
    installed(tmp_path, python_env)
    state = tmp_path / "var/lib/reid-edge"
    state.mkdir(parents=True)
    (state / "events.sqlite3").write_bytes(b"unsent")
    installed(tmp_path, python_env, "--uninstall")
    left = [p for p in tmp_path.rglob("*") if not p.is_dir()]
    assert left == [state / "events.sqlite3"]  # unsent events survive a plain uninstall
    assert not (tmp_path / "opt/reid-edge").exists()
    assert not (tmp_path / "etc/reid-edge").exists()


def test_uninstall_keeps_an_edited_config_unless_purged(python_env, tmp_path):
    installed(tmp_path, python_env)
    config = tmp_path / "etc/reid-edge/reid-edge.toml"
    config.write_text('[device]\nname = "lane-cam"\n')
    result = installed(tmp_path, python_env, "--uninstall")
    assert config.is_file()
    assert "kept /etc/reid-edge/reid-edge.toml" in result.stdout
    installed(tmp_path, python_env, "--uninstall", "--purge")
    assert [p for p in tmp_path.rglob("*") if not p.is_dir()] == []


def test_root_without_python_is_refused(tmp_path):
    result = subprocess.run(
        ["bash", str(INSTALL), "--root", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["install.sh: error: --root needs --python"]


# --- Bundles ----------------------------------------------------------------------------------


def source_run(bundle_dir: Path) -> str:
    return re.search(r'"source_run": "([^"]*)"', (bundle_dir / "manifest.json").read_text())[1]


def tampered(archive: Path, out: Path) -> Path:
    """The same archive with one byte of the int8 model changed: a valid .tar.gz, bad hash."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name.endswith("model_int8.tflite"):
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    return out


def truncated(archive: Path, out: Path) -> Path:
    raw = gzip.compress(gzip.decompress(archive.read_bytes()))
    out.write_bytes(raw[: len(raw) // 2])
    return out


def test_a_good_swap_keeps_the_previous_bundle(python_env, bundles, tmp_path):
    live = tmp_path / "etc/reid-edge/bundle"
    installed(tmp_path, python_env, "--bundle", str(bundles["a"]))
    assert source_run(live) == "runs/a"
    assert not (tmp_path / "etc/reid-edge/bundle.previous").exists()
    assert mode(live) == 0o755 and mode(live / "manifest.json") == 0o644

    installed(tmp_path, python_env, "--bundle", str(bundles["b"]))
    assert source_run(live) == "runs/b"
    assert source_run(tmp_path / "etc/reid-edge/bundle.previous") == "runs/a"

    before = snapshot(tmp_path)
    result = installed(tmp_path, python_env, "--bundle", str(bundles["b"]))
    assert snapshot(tmp_path) == before
    assert "bundle unchanged" in result.stdout


@pytest.mark.parametrize("damage", [tampered, truncated], ids=["tampered", "truncated"])
def test_a_bad_bundle_leaves_the_live_one_in_place(damage, python_env, bundles, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    installed(root, python_env, "--bundle", str(bundles["a"]))
    before = snapshot(root)
    bad = damage(bundles["b"], tmp_path / "bad.tar.gz")
    result = run_install(root, python_env, "--bundle", str(bad))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("install.sh: error: ")
    assert "/etc/reid-edge/bundle is unchanged" in lines[0]
    assert snapshot(root) == before


def test_rollback_swaps_back_and_forth(python_env, bundles, tmp_path):
    live = tmp_path / "etc/reid-edge/bundle"
    previous = tmp_path / "etc/reid-edge/bundle.previous"
    installed(tmp_path, python_env, "--bundle", str(bundles["a"]))
    installed(tmp_path, python_env, "--bundle", str(bundles["b"]))
    installed(tmp_path, python_env, "--rollback")
    assert (source_run(live), source_run(previous)) == ("runs/a", "runs/b")
    installed(tmp_path, python_env, "--rollback")
    assert (source_run(live), source_run(previous)) == ("runs/b", "runs/a")


def test_rollback_without_a_previous_bundle_fails_clearly(python_env, bundles, tmp_path):
    installed(tmp_path, python_env, "--bundle", str(bundles["a"]))
    result = run_install(tmp_path, python_env, "--rollback")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "install.sh: error: no /etc/reid-edge/bundle.previous to roll back to"
    )


# --- install.sh on a "live" system -------------------------------------------------------------

FAKE_SYSTEMCTL = """#!/bin/bash
# Test double: records each call; keeps enabled/active as files; `start`/`restart` fail while
# $FAKE_STATE/refuse exists (a daemon that will not come up).
echo "$*" >>"$FAKE_STATE/calls"
set -- $(printf '%s\\n' "$@" | grep -v -e --quiet)
case "$1" in
    is-enabled) [ -e "$FAKE_STATE/enabled" ] ;;
    is-active) [ -e "$FAKE_STATE/active" ] ;;
    enable) touch "$FAKE_STATE/enabled" ;;
    disable) rm -f "$FAKE_STATE/enabled" "$FAKE_STATE/active" ;;
    start | restart) [ ! -e "$FAKE_STATE/refuse" ] && touch "$FAKE_STATE/active" ;;
    daemon-reload) ;;
    *) exit 9 ;;
esac
"""

# Runs in a private mount namespace: /etc and /opt become copy-on-write overlays that vanish
# with it, so install.sh writes its real paths and the machine is untouched.
LIVE_DRIVER = """
set -u
mount --make-rprivate / && mount -t tmpfs tmpfs "$SCRATCH" || exit 77
for dir in etc opt; do
    mkdir -p "$SCRATCH/$dir/upper" "$SCRATCH/$dir/work"
    mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$SCRATCH/$dir/upper,\\
workdir=$SCRATCH/$dir/work" "/$dir" || exit 77
done
step() {
    echo "== $*"
    bash "$INSTALL" --python "$PY" "$@" >"$FAKE_STATE/out" 2>&1
    echo "rc=$?"
    cat "$FAKE_STATE/calls" 2>/dev/null
    rm -f "$FAKE_STATE/calls"
    echo "live=$(grep -o 'runs/[ab]' /etc/reid-edge/bundle/manifest.json 2>/dev/null)"
}
step --bundle "$A"
step --bundle "$A"
step --bundle "$B"
touch "$FAKE_STATE/refuse"
step --bundle "$A"
rm "$FAKE_STATE/refuse"
step --uninstall
echo "left=$(ls /etc/reid-edge /opt/reid-edge /etc/systemd/system/reid-edge.service 2>&1 | wc -l)"
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root")
def test_live_install_enables_restarts_and_rolls_back(python_env, bundles, tmp_path):
    """Without --root: systemctl (a recording double) enables and starts the unit, a new
    bundle restarts it, and a bundle the service will not start on is rolled back."""
    state, scratch, fake = tmp_path / "state", tmp_path / "scratch", tmp_path / "bin"
    for folder in (state, scratch, fake):
        folder.mkdir()
    (fake / "systemctl").write_text(FAKE_SYSTEMCTL)
    (fake / "systemctl").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "FAKE_STATE": str(state),
        "SCRATCH": str(scratch),
        "INSTALL": str(INSTALL),
        "PY": str(python_env),
        "A": str(bundles["a"]),
        "B": str(bundles["b"]),
    }
    result = subprocess.run(
        ["unshare", "--mount", "bash", "-c", LIVE_DRIVER],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if result.returncode == 77 or "unshare failed" in result.stderr:
        pytest.skip(f"no private mount namespace here: {result.stderr.strip()}")
    steps = [block.splitlines() for block in result.stdout.split("== ")[1:]]
    first, again, new, refused, removed = steps
    unit = "reid-edge.service"
    assert first[1:] == [
        "rc=0",
        f"is-enabled --quiet {unit}",  # the bundle swap: not enabled yet, no restart
        "daemon-reload",
        f"is-enabled --quiet {unit}",
        f"enable {unit}",
        f"restart {unit}",
        "live=runs/a",
    ]
    assert again[1:] == [
        "rc=0",
        f"is-enabled --quiet {unit}",
        f"is-active --quiet {unit}",
        "live=runs/a",
    ]
    assert f"restart {unit}" in new and new[-1] == "live=runs/b"
    assert refused[1] == "rc=1"
    assert refused.count(f"restart {unit}") == 2  # the refused bundle, then the one that ran
    assert refused[-1] == "live=runs/b"
    assert removed[1:3] == ["rc=0", f"disable --now {unit}"]
    assert result.stdout.strip().endswith("left=3")  # three "No such file" lines
