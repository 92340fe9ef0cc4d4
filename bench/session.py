"""A club session: 8 lanes, 3 swimmers to a lane circle swimming, a one-second glide unseen after
every turn, a pole camera's perspective, 2 minutes; the daemon's detection, tracks and identity.

    python bench/session.py (--bundle BUNDLE | --train [--seeds N ...]) [--data DIR]
                            [--seconds S] [--glare] [--lanes N] [--per-lane K] [--every-crop]
                            [--layout N] [--hard-edges] [--out JSON]

Who swims: the real crops' 7 swimmers and 17 synthetic ones (train/synth.py). Everyone is
enrolled from the camera as README step 6 says: a 30 s start of the same scene (the real
swimmers' earlier frames, the synthetic ones' first halves) through reid-collect, the folders
named by the truth, reid-enroll --names on BUNDLE (a bundle of the real crops), or with
--train on a bundle trained on the start's crops of all 24 (made once per training seed). The
session then shows the real swimmers' later frames and the synthetic ones' second halves. The
videos are made once (seeded) and kept in bench/work/session (session_NxK for another number of
lanes or swimmers to a lane: `--lanes 4 --per-lane 2 --seconds 60` is issue 13's first scene, 7
real swimmers and one synthetic); delete that folder after changing the simulator. A second run
of a scene while one runs stops at once: they would enrol from each other's collections. The
daemon runs as in bench/pipeline.py (one thread, a local Mosquitto, its own stats) with the
session's [pool] geometry, `detector.swimmer_width` 0.2 and `min_area_frac` 0.0002, and
`tracker.rejoin_frames` 50 (twice the glide). The events go to bench/work/session/events.json.

Figures, against the simulator's truth:
- detection: recall and precision at IoU >= 0.5 with the truth boxes (the daemon's detector
  on every frame), and with a detection's centre on a swimmer's pasted crop;
- identity, frame by frame (the daemon's tracker noting where its announced tracks are): the
  share of swimmer-seconds (frames a swimmer is visible) with an announced track on the swimmer
  (its box's centre on the swimmer's crop), and with one that names it right then;
- tracks per swimmer-visit: the distinct announced tracks that were ever on a swimmer, per stay
  in the pool (a glide under water after a turn does not end a stay; here every swimmer stays
  the whole session), and those on it for at least a second;
- fps and ms per stage with 24 in view. Writes bench/results/session.json.

`--every-crop` describes every crop of every frame (`tracker.embed_interval` 1) instead of the
daemon's schedule, to see what the schedule does to identity. `--layout N` (N > 0) simulates
another draw of the same scene (who swims in which lane, their pace and turns, with other
seeds), to see how much a figure owes to one video. `--hard-edges` pastes every crop as it is
(train/poolsim.py), its own water, lane rope and floor line a hard-edged rectangle, as a
composite made without blending has it: the start and the session both. `--seeds 0 1 2`
(with --train) trains, enrols and runs the session once per training seed: tracks and identity
depend on the bundle a training happens to make (and TensorFlow on two threads does not repeat a
training exactly), so a goal is judged over several. The first seed's run gives the figures, the
others their spread (`by_seed`); detection does not depend on the bundle and is measured once.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from machine import cpu_name
from pipeline import measure

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from demo.naming import collected_tracks, read_index, stays, write_names  # noqa: E402
from demo.run import collect_camera, earlier_frames, later_frames, run  # noqa: E402
from demo.score import match_detections, pair_boxes  # noqa: E402
from edge.config import Config, DetectorConfig, PoolConfig, SourceConfig, TrackerConfig  # noqa: E402
from edge.daemon import Daemon  # noqa: E402
from edge.sources import open_source  # noqa: E402
from edge.tracking.track import TrackView  # noqa: E402
from edge.types import Box, Frame  # noqa: E402
from edge.vision.detect import make_detector  # noqa: E402
from train.poolsim import sequences_from_folder, simulate_pool  # noqa: E402
from train.synth import generate_dataset  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "swimmers"
WORK = REPO / "bench" / "work" / "session"
OUT = REPO / "bench" / "results" / "session.json"
LANES, PER_LANE, FPS = 8, 3, 25
SECONDS = 120
GLIDE_S = 1.0  # unseen after every push-off
PERSPECTIVE = 0.4
SYNTHETIC_FRAMES = 80  # the first half swims at the start (enrolled), the second half after
START_S = 30  # the session's start, collected and enrolled
DETECTOR = {"swimmer_width": 0.2, "min_area_frac": 0.0002}  # three to a lane; far ones 0.0004
MIN_IOU = 0.5
LAYOUT_SEEDS = 1000  # the simulator's seeds of one layout are this far from another's
REJOIN = round(2 * GLIDE_S * FPS)  # tracker.rejoin_frames: a lost track waits out the glide


@dataclass(frozen=True)
class Scene:
    """The pool filmed, and the folder its videos, trained bundle and enrolment are kept in."""

    lanes: int = LANES
    per_lane: int = PER_LANE
    glare: bool = False
    layout: int = 0  # another draw of the same scene: who swims in which lane, pace, turns
    hard_edges: bool = False  # crops pasted as they are, not blended into the pool

    @property
    def work(self) -> Path:
        if (self.lanes, self.per_lane) == (LANES, PER_LANE):
            return WORK
        return WORK.with_name(f"session_{self.lanes}x{self.per_lane}")


def swimmers(data: Path, scene: Scene) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """The session's crop sequences: the start's (real earlier frames, synthetic first halves)
    and the rest's (real later frames, synthetic second halves)."""
    start, rest = earlier_frames(data), later_frames(data)
    count = scene.lanes * scene.per_lane - len(rest)
    if count < 0:
        raise SystemExit(f"{scene.lanes} lanes of {scene.per_lane} hold fewer than the "
                         f"{len(rest)} real swimmers")  # fmt: skip
    work = scene.work
    synthetic = work / "synthetic"
    if not synthetic.is_dir():
        generate_dataset(work / "raw", identities=count, frames=SYNTHETIC_FRAMES, seed=7)
        for folder in sorted((work / "raw").iterdir()):  # "s1".. beside the real "1"..
            folder.rename(work / "raw" / f"s{folder.name}")
        (work / "raw").rename(synthetic)
    for identity, crops in sequences_from_folder(synthetic).items():
        start[identity], rest[identity] = crops[: len(crops) // 2], crops[len(crops) // 2 :]
    return start, rest


def pool_video(sequences: dict, scene: Scene, name: str, frames: int, seed: int) -> tuple:
    """The session's video (made once: seeded) and its truth."""
    name += ("_glare" if scene.glare else "") + (f"_layout{scene.layout}" if scene.layout else "")
    name += "_hard" if scene.hard_edges else ""
    seed += LAYOUT_SEEDS * scene.layout
    video, truth = scene.work / f"{name}.avi", scene.work / f"{name}.json"
    if not truth.is_file():
        simulate_pool(sequences, video, truth, frames, lanes=scene.lanes, fps=FPS, seed=seed,
                      max_per_lane=scene.per_lane, perspective=PERSPECTIVE,
                      submerged=round(GLIDE_S * FPS), glare=scene.glare,
                      feather=not scene.hard_edges)  # fmt: skip
    return video, json.loads(truth.read_text())


def trained_bundle(start: dict[str, list[Path]], work: Path, seed: int = 0) -> Path:
    """A bundle trained (the default recipe, this seed) and converted on the session start's
    crops of all its swimmers, as a site that retrains on its squad would have; made once,
    reused."""
    folder = work / ("trained" if seed == 0 else f"trained_seed{seed}")
    bundle, crops = folder / "bundle", folder / "crops"
    if (bundle / "manifest.json").is_file():
        return bundle
    shutil.rmtree(crops, ignore_errors=True)
    for identity, paths in start.items():
        (crops / identity).mkdir(parents=True)
        for path in paths:
            (crops / identity / path.name).symlink_to(path.resolve())
    run("reid-train", "--data", crops, "--out", folder / "run", "--seed", seed, "--no-progress")
    run("reid-convert", folder / "run", "--data", crops, "--out", bundle)
    return bundle


def collect_start(base: Path, sequences: dict, sections: dict, scene: Scene) -> tuple[Path, dict]:
    """README step 6, its first half: reid-collect on the session's first minutes, the folders
    named (by the truth, as a person at the contact sheet). reid-collect reads only the bundle's
    crop shape, so one collection serves every bundle of a run. Returns the folders and the
    figures."""
    video, truth = pool_video(sequences, scene, "start", START_S * FPS, 12)
    camera = collect_camera(video, base, scene.work, sections=sections)
    tracks = collected_tracks(read_index(camera), truth)
    write_names(tracks, scene.work / "names.toml")
    right = sum(t.right for t in tracks) / sum(t.crops for t in tracks)
    return camera, {"seconds": START_S, "folders": len(tracks),
                    "crops_of_their_swimmer": round(right, 4)}  # fmt: skip


def enrol(base: Path, camera: Path, work: Path) -> Path:
    """README step 6, its second half: reid-enroll --names the collected folders into `base`."""
    shutil.rmtree(work / "bundle", ignore_errors=True)
    run("reid-enroll", base, "--data", camera, "--names", work / "names.toml",
        "--out", work / "bundle")  # fmt: skip
    return work / "bundle"


def detection(video: Path, truth: dict, pool: PoolConfig, lanes: int) -> dict:
    """The daemon's detector on every frame, against the truth (`box_figures`)."""
    detector = make_detector(DetectorConfig(lanes=lanes, **DETECTOR), pool)
    source = open_source(SourceConfig(kind="video", uri=str(video)))
    detected = {}
    while (frame := source.read(1.0)) is not None:
        detected[frame.index] = [d.box for d in detector.detect(frame.image)]
    source.close()
    return box_figures(detected, truth)


def box_figures(detected: dict[int, list[Box]], truth: dict) -> dict:
    """Recall and precision at IoU >= MIN_IOU with the truth boxes, each matched once (best IoU
    first), the recall also for the real and the synthetic swimmers apart; and, looser, with a
    detection's centre on a swimmer's pasted crop (demo.score). The truth box is the body the
    synthetic generator drew, arms and legs included, or for a real crop the pixels that stand
    out from its own water, less its floor line (train/poolpaint.py): rougher, as a splash or a
    faint leg can go either way."""
    on_crop = boxes = 0
    found, present = Counter(), Counter()  # by origin: the real crops' swimmers or synthetic
    for frame in truth["frames"]:
        swimmers, boxed = frame["swimmers"], detected.get(frame["index"], [])
        truths = [Box(*s["box"]) for s in swimmers]
        pairs = sorted(((d.iou(t), i, j) for i, d in enumerate(boxed)
                        for j, t in enumerate(truths)), reverse=True)  # fmt: skip
        used_d, used_t = set(), set()
        for iou, i, j in pairs:
            if iou >= MIN_IOU and i not in used_d and j not in used_t:
                used_d.add(i)
                used_t.add(j)
        for j, swimmer in enumerate(swimmers):
            origin = "synthetic" if swimmer["identity"].startswith("s") else "real"
            present[origin] += 1
            found[origin] += j in used_t
        boxes += len(boxed)
        on_crop += len(match_detections(boxed, swimmers)[0])
    total, right = present.total(), found.total()
    return {"recall": round(right / total, 4), "precision": round(right / max(boxes, 1), 4),
            **{f"recall_{o}": round(found[o] / present[o], 4) for o in sorted(present)},
            "recall_on_crop": round(on_crop / total, 4),
            "precision_on_crop": round(on_crop / max(boxes, 1), 4)}  # fmt: skip


class RecordingDaemon(Daemon):
    """The daemon, noting after every frame where its announced tracks are and who they are
    said to be (`Tracker.visible`): what a person watching the pool would check; and the boxes
    it cropped (`Tracker.boxes`: the detector's, with blobs of two swimmers cut)."""

    def __init__(self, config: Config, seen: dict[int, list[TrackView]],
                 cropped: dict[int, list[Box]]) -> None:  # fmt: skip
        super().__init__(config)
        self.seen, self.cropped = seen, cropped

    def _process(self, frame: Frame) -> None:
        super()._process(frame)
        self.seen[frame.index] = self.tracker.visible if self.tracker else []
        self.cropped[frame.index] = self.tracker.boxes if self.tracker else []


def identity(seen: dict[int, list[TrackView]], truth: dict) -> dict:
    """Per visible swimmer and frame, the announced track on it (its box's centre on the
    swimmer's pasted crop, one swimmer per track: demo.score.pair_boxes) and whether it names
    that swimmer; tracks per visit counts the distinct tracks that were ever on a swimmer, and
    those on it for a second or more (a track that touched a swimmer in passing, its box
    centre on the swimmer's crop for a few frames while two blobs were one, is not a split of
    that swimmer's visit, though it counts in the first figure). Named right is also given past
    each visit's start-up (`start_up`), which a 2-minute session weighs as a club session's
    hour does not."""
    patience, unnamed = round(2 * GLIDE_S * FPS), TrackerConfig().settle_crops - 1
    stayed = stays(truth, patience)  # every stay is a visit (demo.naming.visits, min_frames 1)
    starting = start_up(stayed, unnamed)
    right = covered = total = 0
    later = later_right = 0  # swimmer-frames past the start-up, and those named right
    frames_on: Counter[tuple[str, int]] = Counter()
    for frame in truth["frames"]:
        views = seen.get(frame["index"], [])
        total += len(frame["swimmers"])
        later += sum((s["identity"], frame["index"]) not in starting for s in frame["swimmers"])
        for i, swimmer in pair_boxes([v.box for v in views], frame["swimmers"]):
            track = views[i]
            named = track.swimmer_id == swimmer["identity"]
            covered += 1
            right += named
            later_right += named and (swimmer["identity"], frame["index"]) not in starting
            frames_on[swimmer["identity"], track.track_id] += 1
    count = len(stayed)
    tracks, lasting = len(frames_on), sum(n >= FPS for n in frames_on.values())
    return {
        "visits": count,
        "tracks_on_swimmers": tracks,
        "tracks_per_visit": round(tracks / count, 2),
        "tracks_on_swimmers_1s": lasting,
        "tracks_per_visit_1s": round(lasting / count, 2),
        "swimmer_seconds_tracked": round(covered / total, 4),
        "swimmer_seconds_right": round(right / total, 4),
        "right_while_tracked": round(right / max(covered, 1), 4),
        "start_up_frames": unnamed,
        "right_past_start_up": round(later_right / max(later, 1), 4),
    }


def start_up(stayed: list[tuple[str, list[int]]], frames: int) -> set[tuple[str, int]]:
    """(swimmer, frame index) for the first `frames` frames of each stay in view
    (demo.naming.stays): a track is announced at its `settle_crops`-th crop, so no swimmer
    is named before."""
    return {(who, index) for who, seen in stayed for index in seen[:frames]}


@dataclass(frozen=True)
class Run:
    """One bundle's pass over the session: the daemon, what its tracker showed, frame by frame."""

    daemon: dict  # bench/pipeline.py's measure(): closing stats and the events sent
    seen: dict[int, list[TrackView]]
    cropped: dict[int, list[Box]]


def session_run(base: Path, camera: Path, video: Path, sections: dict, work: Path) -> Run:
    """Enrol the collected folders into `base`, then run the daemon over the session
    recording what its tracker shows."""
    seen: dict[int, list[TrackView]] = {}
    cropped: dict[int, list[Box]] = {}
    daemon = measure(enrol(base, camera, work), video, work, sections,
                     lambda config: RecordingDaemon(config, seen, cropped))  # fmt: skip
    return Run(daemon, seen, cropped)


def hold(work: Path) -> TextIO:
    """An exclusive lock on `work`, held while the returned file stays open, or SystemExit:
    runs of one scene share its folder (the enrolment's camera/, names.toml and bundle/), and
    two at once enrol from each other's collections."""
    lock = (work / ".lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"{work}: another bench/session.py run is using it") from None
    return lock


def scene_flags(args: argparse.Namespace) -> str:
    """The flags that chose the scene, the bundle's kind and the schedule (not the paths), as
    the README names the run."""
    switches = {"--train": args.train, "--every-crop": args.every_crop, "--glare": args.glare,
                "--hard-edges": args.hard_edges}  # fmt: skip
    scene = {"--lanes": (args.lanes, LANES), "--per-lane": (args.per_lane, PER_LANE),
             "--seconds": (args.seconds, SECONDS), "--layout": (args.layout, 0)}  # fmt: skip
    chosen = [flag for flag, on in switches.items() if on]
    chosen += [f"{flag} {value}" for flag, (value, default) in scene.items() if value != default]
    if args.seeds != [0]:
        chosen.append("--seeds " + " ".join(map(str, args.seeds)))
    return " ".join(chosen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--bundle", type=Path, help="a bundle (of the real crops) to enrol into")
    base.add_argument("--train", action="store_true", help="train one on the session's start")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--glare", action="store_true", help="sun glare drifts over the water")
    parser.add_argument("--lanes", type=int, default=LANES)
    parser.add_argument("--per-lane", type=int, default=PER_LANE, help="swimmers to a lane")
    parser.add_argument("--every-crop", action="store_true", help="describe every crop")
    parser.add_argument("--layout", type=int, default=0, help="another draw of the scene")
    parser.add_argument("--hard-edges", action="store_true", help="crops pasted, not blended")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.seeds != [0] and not args.train:
        parser.error("--seeds needs --train")
    scene = Scene(args.lanes, args.per_lane, args.glare, args.layout, args.hard_edges)
    work = scene.work
    work.mkdir(parents=True, exist_ok=True)
    lock = hold(work)  # noqa: F841 (held until the process exits)
    start, rest = swimmers(args.data, scene)
    video, truth = pool_video(rest, scene, f"session_{args.seconds}s", args.seconds * FPS, 11)
    pool = {"lane_lines": truth["lane_lines"], "water": truth["water"]}
    tracker = {"rejoin_frames": REJOIN, **({"embed_interval": 1} if args.every_crop else {})}
    sections = {"detector": {**DETECTOR, "lanes": scene.lanes}, "pool": pool, "tracker": tracker}
    bundles = [trained_bundle(start, work, seed) for seed in args.seeds] if args.train else [
        args.bundle]  # fmt: skip
    camera, enrolled = collect_start(bundles[0], start, sections, scene)
    runs = [session_run(bundle, camera, video, sections, work) for bundle in bundles]
    first, daemon = runs[0], runs[0].daemon
    (work / "events.json").write_text(json.dumps(daemon["events"]))
    results = {
        "cpu": cpu_name(),
        "flags": scene_flags(args),
        "daemon_config": {"detector": DETECTOR, "tracker": tracker},
        "base_bundle": "trained on the session's start" if args.train else str(args.bundle),
        "scene": {"lanes": scene.lanes, "per_lane": scene.per_lane, "seconds": args.seconds,
                  "glide_s": GLIDE_S, "perspective": PERSPECTIVE, "glare": scene.glare,
                  "layout": scene.layout, "hard_edges": scene.hard_edges,
                  "swimmers": len(rest), "real_swimmers": len(later_frames(args.data))},
        "every_crop_described": args.every_crop,
        "enrolled_from_camera": enrolled,
        "detection": detection(video, truth, PoolConfig(**pool), scene.lanes),
        "detection_cropped": box_figures(first.cropped, truth),
        **identity(first.seen, truth),
        "tracks_announced": len({e["track_id"] for e in daemon["events"]}),
        "fps": daemon["fps"],
        "stage_ms": daemon["stage_ms"],
        "crops_per_frame": daemon.get("crops_per_frame"),
        "embedded_per_frame": daemon.get("embedded_per_frame"),
    }  # fmt: skip
    if len(runs) > 1:
        results["by_seed"] = [{"seed": seed, **identity(run.seen, truth)}
                              for seed, run in zip(args.seeds, runs, strict=True)]  # fmt: skip
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    sys.stdout.write(json.dumps(results, indent=1) + f"\nwrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
