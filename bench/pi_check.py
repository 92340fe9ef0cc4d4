"""`make pi-check`: the device install on the Pi's instruction set, arm64, under emulation.

An arm64 Debian Bookworm root (debootstrap through qemu-user-static and binfmt_misc, cached in
REID_PI_ROOT) gets this checkout, and `systemd/install.sh --bundle` runs inside it as on a Pi,
apt and pip for real: what needs Raspberry Pi OS's own archive (python3-picamera2) or a running
systemd is skipped with one line by install.sh itself. Then, inside it, with the venv install.sh
built: `reid-edge --check-config`, `reid-identify` on held-out crops (against the same command
on this host), the bundle's probes through the arm64 runtime (the cross-instruction-set figures
the on-device check's limits must cover), and `reid-edge` on a short pool video publishing to a
Mosquitto on this host's loopback, its events against the host daemon's on the same video. A
second venv with tflite-runtime 2.14 (its last aarch64 wheel, Python 3.11) must give the same
answers. Writes bench/results/pi_check.json; exit 1 when a check fails.

Runs as root (debootstrap, chroot, binfmt_misc). Emulated timings are not a Pi's: they are in
the JSON only to say what the check costs here, never as device figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from machine import cpu_name  # noqa: E402

from demo.broker import start_broker  # noqa: E402
from demo.run import later_frames  # noqa: E402
from edge.config import render_toml  # noqa: E402
from train.data import list_samples, time_split  # noqa: E402
from train.poolsim import simulate_pool  # noqa: E402

ROOT = Path(os.environ.get("REID_PI_ROOT", "/var/cache/reid-pi/bookworm-arm64"))
INCLUDE = "python3,python3-venv,python3-pip,python3-numpy,ca-certificates"
HOST_PACKAGES = ("qemu-user-static", "binfmt-support", "debootstrap")
QEMU = "qemu-aarch64-static"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # this host's, proxies included
SRC, CHECK = "/opt/src/swimmer-reid", "/opt/check"
VENV, TFLITE_VENV = "/opt/reid-edge/venv", "/opt/venv-tflite"
LIVE_BUNDLE = "/etc/reid-edge/bundle"
TFLITE_RUNTIME = "tflite-runtime==2.14.0"
CROPS_PER_SWIMMER = 10
VIDEO_FRAMES = 60
HOST_BIN = Path(sys.executable).parent
OUT = REPO / "bench" / "results" / "pi_check.json"
PROBE_FIGURES = """
import json
from edge.bundle import load_bundle
from edge.vision.identify import Identifier
from edge.probes import run_probes
from edge.vision.runtime import runtime_name
bundle = load_bundle("{bundle}")
report = run_probes(bundle, Identifier.from_bundle(bundle))
print(json.dumps({{"runtime": runtime_name(), "probes": len(report.labels),
    "cosine_min": float(report.cosines.min()), "cosine_mean": float(report.cosines.mean()),
    "score_diff_max": float(report.score_diffs.max()), "answers_changed": len(report.changed),
    "problem": report.problem}}))
"""


class Check:
    """Steps, their times and the figures, printed as they go and written as JSON at the end."""

    def __init__(self) -> None:
        self.figures: dict = {"cpu": cpu_name(), "emulated": True, "steps_s": {}}
        self.failures: list[str] = []

    @contextmanager
    def step(self, name: str):
        sys.stdout.write(f"[pi-check] {name} ...\n")
        sys.stdout.flush()
        start = time.monotonic()
        yield
        self.figures["steps_s"][name] = round(time.monotonic() - start, 1)

    def expect(self, ok: bool, what: str) -> None:
        sys.stdout.write(f"[pi-check]   {'ok  ' if ok else 'FAIL'} {what}\n")
        if not ok:
            self.failures.append(what)


def sh(*command: str | Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    """A host command; its stderr tail in the error when it fails."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"pi-check: {command[0]} failed: {done.stderr.strip()[-1500:]}")
    return done


def inside(command: str, timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess:
    """A bash command in the arm64 root with a clean environment (the host's pip settings and
    paths do not leak in; its CA bundle does, copied in by `prepare_root`)."""
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
           "LANG=C.UTF-8", f"PIP_CERT={CA_BUNDLE}", "PIP_DISABLE_PIP_VERSION_CHECK=1",
           "TF_CPP_MIN_LOG_LEVEL=3"]  # fmt: skip
    done = subprocess.run(
        ["chroot", str(ROOT), "/usr/bin/env", "-i", *env, "/bin/bash", "-c", command],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if check and done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-2000:]
        raise SystemExit(f"pi-check: in the arm64 root, `{command[:80]}` failed:\n{output}")
    return done


def enable_emulation() -> None:
    tools = (shutil.which("debootstrap"), shutil.which("update-binfmts"), shutil.which(QEMU))
    if None in tools:
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", *HOST_PACKAGES)
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    if not (binfmt / "register").exists():
        sh("mount", "-t", "binfmt_misc", "binfmt_misc", binfmt)
    sh("update-binfmts", "--enable", "qemu-aarch64")


def prepare_root() -> None:
    """Debootstrap once (cached in ROOT), then give it this host's resolver and CA bundle."""
    if not (ROOT / "usr/bin/python3").exists():
        shutil.rmtree(ROOT, ignore_errors=True)
        ROOT.parent.mkdir(parents=True, exist_ok=True)
        sh("debootstrap", "--arch=arm64", "--variant=minbase", f"--include={INCLUDE}",
           "bookworm", ROOT, "http://deb.debian.org/debian")  # fmt: skip
    shutil.copyfile("/etc/resolv.conf", ROOT / "etc/resolv.conf")
    shutil.copyfile(CA_BUNDLE, ROOT / CA_BUNDLE.relative_to("/"))


def stage(bundle: Path, data: Path, work: Path) -> list[Path]:
    """This checkout's tracked files, the bundle, held-out crops and a short pool video."""
    src = ROOT / SRC.lstrip("/")
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    tracked = sh("git", "-C", REPO, "ls-files", "-z").stdout.split("\0")
    for name in filter(None, tracked):
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    check = ROOT / CHECK.lstrip("/")
    shutil.rmtree(check, ignore_errors=True)
    (check / "crops").mkdir(parents=True)
    archive = bundle.with_name(bundle.name + ".tar.gz")
    shutil.copyfile(archive, check / "bundle.tar.gz")
    crops = []
    for sample in time_split(list_samples(data)).test:
        if sum(c.parent.name == sample.identity for c in crops) < CROPS_PER_SWIMMER:
            target = check / "crops" / sample.identity / sample.path.name
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(sample.path, target)
            crops.append(target)
    simulate_pool(later_frames(data), check / "pool.avi", work / "truth.json",
                  frames=VIDEO_FRAMES, lanes=8)  # fmt: skip
    return crops


def identify(crops: list[Path], check: Check) -> None:
    """The same crops, the same bundle: host x86-64 against arm64, LiteRT and tflite-runtime."""
    names = [f"{CHECK}/crops/{c.parent.name}/{c.name}" for c in crops]
    host = _answers(sh(HOST_BIN / "reid-identify", ROOT / LIVE_BUNDLE.lstrip("/"), *crops,
                       "--json").stdout)  # fmt: skip
    command = f"reid-identify {LIVE_BUNDLE} {' '.join(names)} --json"
    arm = _answers(inside(f"{VENV}/bin/{command}").stdout)
    check.figures["identify"] = _compare(host, arm)
    check.expect(check.figures["identify"]["agreement"] == 1.0,
                 f"reid-identify: arm64 names {len(arm)} crops as x86-64 does")  # fmt: skip
    with check.step("tflite-runtime fallback venv"):
        pip = f"{TFLITE_VENV}/bin/pip install --quiet"
        deps = "paho-mqtt opencv-python-headless cryptography 'numpy<2'"
        inside(f"python3 -m venv --system-site-packages {TFLITE_VENV} && {pip} --no-deps {SRC} "
               f"&& {pip} {deps} {TFLITE_RUNTIME}")  # fmt: skip
    runtime = inside(f"{TFLITE_VENV}/bin/python -c 'from edge.vision.runtime import runtime_name; "
                     "print(runtime_name())'").stdout.strip()  # fmt: skip
    fallback = _answers(inside(f"{TFLITE_VENV}/bin/{command}").stdout)
    probes = probe_figures(TFLITE_VENV)
    check.figures["tflite_runtime"] = {"runtime": runtime, **_compare(arm, fallback),
                                       "probes": probes}  # fmt: skip
    check.expect(probes["problem"] is None, f"on-device check with tflite-runtime: {probes}")
    check.expect(runtime == "tflite_runtime.interpreter", f"the fallback venv runs {runtime}")
    check.expect(check.figures["tflite_runtime"]["agreement"] == 1.0,
                 "tflite-runtime names the crops as LiteRT does")  # fmt: skip


def probe_figures(venv: str) -> dict:
    """The bundle's probes through the runtime of `venv` in the arm64 root."""
    code = PROBE_FIGURES.format(bundle=LIVE_BUNDLE)
    return json.loads(inside(f"{venv}/bin/python -c '{code}'").stdout)


def _answers(jsonl: str) -> dict[str, dict]:
    rows = [json.loads(line) for line in jsonl.splitlines() if line.strip()]
    return {"/".join(Path(r["path"]).parts[-2:]): r for r in rows}


def _compare(a: dict[str, dict], b: dict[str, dict]) -> dict:
    same = [a[k]["swimmer_id"] == b[k]["swimmer_id"] for k in a]
    diffs = [abs(a[k]["score"] - b[k]["score"]) for k in a]
    return {"crops": len(a), "agreement": round(sum(same) / len(same), 4),
            "max_score_diff": round(max(diffs), 4)}  # fmt: skip


def daemon(check: Check, work: Path) -> None:
    """reid-edge in the arm64 root and on this host, on the same video, to one broker."""
    broker = start_broker()
    try:
        events = {}
        for side, state in (("arm64", f"{CHECK}/state"), ("host", str(work / "state"))):
            config = {
                "device": {"name": f"pi-check-{side}", "state_dir": state},
                "source": {"kind": "video", "uri": f"{CHECK}/pool.avi"},
                "bundle": {"path": LIVE_BUNDLE},
                "mqtt": {"host": broker.host, "port": broker.port},
            }
            events[side] = _run_daemon(side, config, broker, work)
        check.figures["daemon"] = {
            side: {"events": len(e), "named_tracks": len(_named(e))} for side, e in events.items()
        }
        same = _named(events["arm64"]) == _named(events["host"])
        check.figures["daemon"]["same_names"] = same
        check.expect(len(events["arm64"]) > 0, f"arm64 reid-edge published {len(events['arm64'])} "
                     "events to the host's broker")  # fmt: skip
        check.expect(same, "arm64 and x86-64 daemons name the same tracks the same")
    finally:
        broker.stop()


def _run_daemon(side: str, config: dict, broker, work: Path) -> list[dict]:
    subscribe = [str(HOST_BIN / "reid-subscribe"), "--host", broker.host, "--port",
                 str(broker.port), "--topic", f"reid/pi-check-{side}/events", "--json"]  # fmt: skip
    subscriber = subprocess.Popen(subscribe, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)  # reid-subscribe has no readiness signal; the daemon's start takes longer
    if side == "arm64":
        (ROOT / CHECK.lstrip("/") / "reid-edge.toml").write_text(render_toml(config))
        inside(f"{VENV}/bin/reid-edge --config {CHECK}/reid-edge.toml --check-config")
        inside(f"{VENV}/bin/reid-edge --config {CHECK}/reid-edge.toml")
    else:
        config["source"]["uri"] = str(ROOT / CHECK.lstrip("/") / "pool.avi")
        config["bundle"]["path"] = str(ROOT / LIVE_BUNDLE.lstrip("/"))
        (work / "host.toml").write_text(render_toml(config))
        sh(HOST_BIN / "reid-edge", "--config", work / "host.toml")
    time.sleep(2.0)  # the daemon drained its spool before exiting; the broker forwards
    subscriber.terminate()
    out, _ = subscriber.communicate(timeout=10)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _named(events: list[dict]) -> dict[int, str | None]:
    return {e["track_id"]: e["swimmer_id"] for e in events if e["type"] == "new"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "demo-out" / "bundle")
    parser.add_argument("--data", type=Path, default=REPO / "demo-out" / "known",
                        help="crops of the bundle's swimmers (held-out ones used)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("pi-check: run as root (debootstrap, chroot and binfmt_misc need it)")
    if not (args.bundle / "manifest.json").is_file():
        raise SystemExit(f"pi-check: no bundle at {args.bundle} (make demo writes one)")
    check = Check()
    check.figures |= {"bundle": str(args.bundle), "data": str(args.data)}
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "reid-pi-check"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with check.step("emulation and the arm64 root (debootstrap once, then cached)"):
        enable_emulation()
        prepare_root()
        check.figures["arm64"] = inside("uname -m && python3 -V").stdout.split()
    with check.step("stage the checkout, the bundle, crops and a pool video"):
        crops = stage(args.bundle, args.data, work)
    with check.step("systemd/install.sh --bundle, apt and pip for real"):
        installed = inside(f"bash {SRC}/systemd/install.sh --bundle {CHECK}/bundle.tar.gz")
        check.figures["install_log"] = installed.stdout.strip().splitlines()
    with check.step("the bundle's probes through the arm64 runtime"):
        figures = probe_figures(VENV)
        check.figures["probes"] = figures
        check.expect(figures["problem"] is None, f"on-device check: {figures}")
        device = inside(f"{VENV}/bin/reid-check --device {LIVE_BUNDLE}", check=False)
        check.expect(device.returncode == 0, f"reid-check --device: {device.stdout.strip()}")
    with check.step("reid-identify, x86-64 against arm64"):
        identify(crops, check)
    with check.step("reid-edge publishing to the host's broker"):
        daemon(check, work)
    check.figures["failures"] = check.failures
    args.out.write_text(json.dumps(check.figures, indent=2) + "\n")
    sys.stdout.write(f"[pi-check] wrote {args.out}; {len(check.failures)} failure(s)\n")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
