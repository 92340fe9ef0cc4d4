"""Enrolling a squad from the pool camera: collect, name, enrol, then the daemon on later video.

    python bench/collect.py [--data DIR] [--new 2 5] [--epochs N]

A bundle is trained and converted on the real crops of every swimmer but the `--new` ones (the
squad the Pi has never seen). A simulated session's start (every swimmer's earlier crops,
swimmers coming and going) goes through `reid-collect`; its folders are scored against the
simulator's truth (folders per swimmer visit, share of each folder's crops showing its swimmer)
and named from it, as a person at the contact sheet would; `reid-enroll --names` enrols them.
The daemon then runs on a later video of the same session (the later crops) with a real broker,
once with the trained bundle and once with the enrolled one, and its tracks are scored: the new
swimmers are unknown to the first and should be named by the second. Writes
bench/results/collect.json; the trained bundle is kept in bench/work/collect/without-<new>
and reused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from machine import cpu_name

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from demo.naming import collected_tracks, read_index, visits, write_names  # noqa: E402
from demo.run import collect_camera, earlier_frames, later_frames, run, run_daemon  # noqa: E402
from demo.score import score_tracks  # noqa: E402
from edge.config import TrackerConfig  # noqa: E402
from edge.enrolment.collect import DEFAULT_PER_TRACK  # noqa: E402
from train.poolsim import simulate_pool  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "swimmers"
WORK = REPO / "bench" / "work" / "collect"
OUT = REPO / "bench" / "results" / "collect.json"
START_FRAMES = 750  # 30 s at 25 fps: everyone comes in, swims a while and leaves
LATER_FRAMES = 300


def trained_bundle(work: Path, data: Path, new: list[str], epochs: int | None) -> Path:
    """Train and convert on everyone but `new` (once; reused from `work`)."""
    bundle = work / "trained"
    if (bundle / "manifest.json").is_file():
        return bundle
    known = work / "known"
    shutil.rmtree(known, ignore_errors=True)
    known.mkdir()
    for folder in sorted(p for p in data.iterdir() if p.is_dir() and p.name not in new):
        (known / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
    epochs_args = ["--epochs", epochs] if epochs else []
    run("reid-train", "--data", known, "--out", work / "run", "--no-progress", *epochs_args)
    run("reid-convert", work / "run", "--data", known, "--out", bundle)
    return bundle


def collect_session(work: Path, data: Path, bundle: Path, per_track: int) -> tuple[Path, dict]:
    """reid-collect on the session's start; the folders against the truth."""
    video = simulate_pool(earlier_frames(data), work / "start.avi", work / "start.json",
                          START_FRAMES, seed=3, enter_leave=True)  # fmt: skip
    tracks_dir = collect_camera(video, bundle, work, "--per-track", per_track)
    truth = json.loads((work / "start.json").read_text())
    tracks = collected_tracks(read_index(tracks_dir), truth)
    tracker = TrackerConfig()
    stays = visits(truth, tracker.max_missed, tracker.settle_crops)
    crops = sum(t.crops for t in tracks)
    figures = {
        "frames": START_FRAMES,
        "per_track": per_track,
        "visits": stays,
        "tracks": len(tracks),
        "tracks_per_visit": round(len(tracks) / stays, 3),
        "crops": crops,
        "crops_of_their_swimmer": round(sum(t.right for t in tracks) / crops, 4),
        "purity_min": round(min(t.purity for t in tracks), 4),
        "folders": {t.name: [t.swimmer, t.right, t.crops] for t in tracks},
    }
    write_names(tracks, work / "names.toml")
    return tracks_dir, figures


def daemon_score(work: Path, bundle: Path, video: Path, truth: dict, enrolled: set[str]) -> dict:
    out = work / f"daemon-{bundle.name}"
    out.mkdir(exist_ok=True)
    events = run_daemon(out, video, bundle)
    score = score_tracks(events, truth, enrolled)
    wrong = {t: (score.announced[t], score.expected(t)) for t in score.announced
             if score.announced[t] != score.expected(t)}  # fmt: skip
    return {"tracks": len(score.announced), "right": score.right,
            "accuracy": round(score.accuracy, 4), "wrong": wrong}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--new", nargs="+", default=["2", "5"], help="swimmers to enrol")
    parser.add_argument("--epochs", type=int, help="override the training recipe's epochs")
    parser.add_argument("--per-track", type=int, default=DEFAULT_PER_TRACK)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    work = WORK / f"without-{'-'.join(args.new)}"  # a trained bundle per set of new swimmers
    work.mkdir(parents=True, exist_ok=True)
    trained = trained_bundle(work, args.data, args.new, args.epochs)
    tracks_dir, collected = collect_session(work, args.data, trained, args.per_track)
    enrolled = work / "enrolled"
    shutil.rmtree(enrolled, ignore_errors=True)
    run("reid-enroll", trained, "--data", tracks_dir, "--names", work / "names.toml",
        "--out", enrolled)  # fmt: skip
    video = simulate_pool(later_frames(args.data), work / "later.avi", work / "later.json",
                          LATER_FRAMES, seed=4)  # fmt: skip
    truth = json.loads((work / "later.json").read_text())
    everyone = set(later_frames(args.data))
    known = everyone - set(args.new)
    results = {
        "cpu": cpu_name(),
        "data": str(args.data),
        "new_swimmers": args.new,
        "collect": collected,
        "daemon_before_enrolling": daemon_score(work, trained, video, truth, known),
        "daemon_after_enrolling": daemon_score(work, enrolled, video, truth, everyone),
    }
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    sys.stdout.write(json.dumps({k: v for k, v in results.items() if k != "collect"}, indent=1))
    sys.stdout.write(f"\nwrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
