"""`reid-demo`: the whole system on one machine, with no data set and no broker of your own.

    synthetic swimmers (or --data DIR) -> reid-train -> reid-convert (int8) -> reid-check
    -> reid-collect + reid-enroll from the simulated pool camera (the session's start)
    -> a simulated 8-lane pool video (later, with a stranger) -> a broker -> reid-edge
    -> reid-subscribe, live -> OUT/report.md with the plots and a few annotated frames

Every step runs the real console command, printed before it runs, so the demo doubles as a
walk-through of how the pieces are used.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from demo.broker import start_broker
from demo.naming import collected_tracks, read_index, write_names
from demo.report import write_report
from demo.score import score_tracks
from edge.config import render_toml
from train.data import list_samples, time_split
from train.poolsim import simulate_pool
from train.synth import generate_dataset

log = logging.getLogger(__name__)

BIN = Path(sys.executable).parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
DEMO_IDENTITIES = 7
DEMO_FRAMES_PER_IDENTITY = 90
DEMO_EPOCHS = 15
POOL_FRAMES = 300
# Swimmer 2 is kept out of the bundle and swims among the others as a stranger: it looks like
# swimmer 1 (the same cap and suit, in the synthetic set and in the real crops alike), who is
# in the water at the same time. The daemon should answer it unknown, with the bundle's own
# threshold (edge/tracking/identity.py: one swimmer, one place).
STRANGER = "2"
ENROL_FRAMES = 300  # the session's start, filmed to enrol the swimmers from the pool camera
STEPS = 8


def step(number: int, title: str) -> None:
    sys.stdout.write(f"\n\033[1m[{number}/{STEPS}] {title}\033[0m\n")
    sys.stdout.flush()


def run(*args: object) -> None:
    """Run a project command from this environment, echoing it; stop the demo if it fails."""
    command = [str(BIN / str(args[0])), *map(str, args[1:])]
    sys.stdout.write(f"$ {' '.join([str(args[0]), *command[1:]])}\n")
    sys.stdout.flush()
    if subprocess.run(command, env=ENV).returncode != 0:
        raise SystemExit(f"reid-demo: {args[0]} failed; see its message above")


def later_frames(data: Path) -> dict[str, list[Path]]:
    """Each swimmer's later (time-split test) crops: the pool shows frames the model never saw."""
    return _sequences(time_split(list_samples(data)).test)


def earlier_frames(data: Path) -> dict[str, list[Path]]:
    """Each swimmer's earlier (time-split training) crops: the session's start, for enrolling."""
    return _sequences(time_split(list_samples(data)).train)


def _sequences(samples: list) -> dict[str, list[Path]]:
    sequences: dict[str, list[Path]] = {}
    for sample in samples:
        sequences.setdefault(sample.identity, []).append(sample.path)
    return sequences


def without(data: Path, stranger: str, out: Path) -> Path:
    """OUT: DATA's identity folders but the stranger's, as links (nothing is copied)."""
    out.mkdir(parents=True, exist_ok=True)
    for folder in sorted(p for p in data.iterdir() if p.is_dir() and p.name != stranger):
        link = out / folder.name
        if not link.exists():
            link.symlink_to(folder.resolve(), target_is_directory=True)
    return out


def enrol_from_camera(out: Path, known: Path, trained: Path) -> Path:
    """Film the session's start (the known swimmers' earlier frames), collect a folder of crops
    per track with reid-collect, name the folders (the simulator's truth plays the person at the
    contact sheet, demo/naming.py) and enrol them into a new bundle, as a site does."""
    start = simulate_pool(
        earlier_frames(known), out / "start.avi", out / "start.json", ENROL_FRAMES, seed=1
    )
    camera = collect_camera(start, trained, out)
    tracks = collected_tracks(read_index(camera), json.loads((out / "start.json").read_text()))
    names = write_names(tracks, out / "names.toml")
    sys.stdout.write(f"named as the contact sheet shows them: {names}\n")
    run("reid-enroll", trained, "--data", camera, "--names", names, "--out", out / "bundle")
    return out / "bundle"


def collect_camera(
    video: Path, bundle: Path, out: Path, *options: object, sections: dict | None = None
) -> Path:
    """`reid-collect` on `video` with a daemon config naming `bundle` (OUT/collect.toml; more
    tables in `sections`); the folders of crops per track are OUT/camera."""
    config = out / "collect.toml"
    tables = {
        "device": {"name": "demo-pi", "state_dir": str(out / "state")},
        "source": {"kind": "video", "uri": str(video)},
        "bundle": {"path": str(bundle)},
        **(sections or {}),
    }
    config.write_text(render_toml(tables))
    camera = out / "camera"
    shutil.rmtree(camera, ignore_errors=True)
    run("reid-collect", "--config", config, "--out", camera, *options)
    return camera


def echo(process: subprocess.Popen) -> threading.Thread:
    """Echo the subscriber's lines, indented, as they arrive."""

    def pump() -> None:
        for line in process.stdout:
            sys.stdout.write(f"  {line}")
            sys.stdout.flush()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def run_daemon(out: Path, video: Path, bundle: Path) -> list[dict]:
    """Start a broker, a subscriber (human lines) and one for the record (JSON), run reid-edge."""
    broker = start_broker()
    sys.stdout.write(f"broker: {broker.kind} on {broker.host}:{broker.port}\n")
    config = out / "reid-edge.toml"
    tables = {
        "device": {"name": "demo-pi", "state_dir": str(out / "state")},
        "source": {"kind": "video", "uri": str(video), "fps": 25.0},
        "bundle": {"path": str(bundle)},
        "mqtt": {"host": broker.host, "port": broker.port},
    }
    config.write_text(render_toml(tables))
    subscribe = [str(BIN / "reid-subscribe"), "--host", broker.host, "--port", str(broker.port)]
    human = subprocess.Popen(subscribe, stdout=subprocess.PIPE, text=True, env=ENV)
    record = subprocess.Popen([*subscribe, "--json"], stdout=subprocess.PIPE, text=True, env=ENV)
    pump = echo(human)
    time.sleep(1.0)
    try:
        run("reid-edge", "--config", config)
        time.sleep(1.5)
    finally:
        for process in (human, record):
            process.terminate()
        pump.join(timeout=5)
        raw, _ = record.communicate(timeout=10)
        broker.stop()
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reid-demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, help="real crops (<id>/frame_<n>.jpg); default: synthetic"
    )
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    parser.add_argument("--epochs", type=int, default=DEMO_EPOCHS)
    parser.add_argument("--frames", type=int, default=POOL_FRAMES, help="pool video length")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    step(1, "swimmer crops")
    data = args.data or generate_dataset(
        out / "crops", identities=DEMO_IDENTITIES, frames=DEMO_FRAMES_PER_IDENTITY
    )
    known = without(data, STRANGER, out / "known")
    sys.stdout.write(f"crops: {data}; swimmer {STRANGER} is kept out of the bundle: {known}\n")
    step(2, "train the triplet embedder and the SVM (time split)")
    run("reid-train", "--data", known, "--out", out / "run", "--epochs", args.epochs)
    step(3, "quantize to int8 and write the bundle")
    trained = out / "trained"
    run("reid-convert", out / "run", "--data", known, "--out", trained)
    step(4, "check float32 vs int8 on the same crops")
    check = out / "check.json"
    with check.open("w") as handle:
        command = [str(BIN / "reid-check"), str(trained), "--data", str(known)]
        sys.stdout.write(f"$ reid-check {trained} --data {known} > {check}\n")
        subprocess.run(command, stdout=handle, env=ENV, check=False)
    step(5, "enrol the swimmers again from the pool camera, at the session's start")
    bundle = enrol_from_camera(out, known, trained)
    step(6, f"simulate the session: the swimmers' later frames, and stranger {STRANGER}")
    video = simulate_pool(later_frames(data), out / "pool.avi", out / "truth.json", args.frames)
    sys.stdout.write(f"video: {video}\n")
    step(7, "run the daemon; events as reid-subscribe shows them")
    events = run_daemon(out, video, bundle)
    (out / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    step(8, "report")
    truth = json.loads((out / "truth.json").read_text())
    score = score_tracks(events, truth, enrolled=set(later_frames(known)))
    report = write_report(out, events, score, json.loads(check.read_text() or "{}"))
    sys.stdout.write(
        f"{len(events)} events, {len(score.announced)} tracks, {score.right} with the right "
        f"answer ({score.accuracy:.0%}; for stranger {STRANGER} that is unknown)\n"
        f"report: {report}\n"
        f"done in {time.monotonic() - started:.0f} s\n"
    )
    return 0
