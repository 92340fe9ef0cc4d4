"""A top-view pool video with known swimmer boxes: the test bed for detection, tracking, demo.

Why: there is no real pool camera footage to test the device pipeline against, but there are
swimmer crops (real or from train/synth.py). The simulator swims each identity's crops, cycled
in time order, up and down a lane of a blue pool (alone, or circle swimming with others) and
writes the ground truth beside the
video, so the detector and tracker can be scored. train/poollayout.py plans where everyone
swims, train/poolpaint.py paints the frames; this module runs them and writes the files.

Geometry (the contract the edge detector relies on): N lanes are VERTICAL columns of equal width
(a pole camera, train/poolcamera.py, then sees them converge); lane ropes are strings of floats
on the lane boundaries; the water is blue/cyan, with drifting sun glare if asked; swimmers are
non-water blobs inside their lane. A swimmer heading down the frame is drawn rotated by 180
degrees (head first, like the crops, which all swim up).

Truth JSON: {"width", "height", "fps", "lanes", "swimmer_height", "frames": [{"index",
"swimmers": [{"lane", "box": [x, y, w, h], "identity", "crop_box", "heading"}]}]}. `box` is the
swimmer's body, clipped to the frame: the one train/synth.py drew, or for a real crop the pixels
that stand out from its own water (train/poolpaint.py); `crop_box` is where the whole crop was
pasted; `heading` is "up" or "down".
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import cv2
import numpy as np

from train.data import list_samples
from train.errors import DataError, TrainError
from train.poolcamera import PoleCamera
from train.poollayout import Pool, default_swimmer_height, plan_swimmers, swim_paths
from train.poolpaint import Glare, Water, draw_ropes, paste

log = logging.getLogger(__name__)

# cv2.VideoWriter codecs that work in opencv-python-headless without extra libraries (checked:
# 'avc1'/H.264 is not available there). The output suffix picks one.
FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".avi": "MJPG"}


def sequences_from_folder(root: str | Path) -> dict[str, list[Path]]:
    """Crops per identity in time order, from a `root/<id>/frame_<n>.jpg` folder."""
    sequences: dict[str, list[Path]] = {}
    for sample in list_samples(root):
        sequences.setdefault(sample.identity, []).append(sample.path)
    return sequences


def iter_pool(
    sequences: dict[str, list[Path]],
    frames: int = 300,
    width: int = 1280,
    height: int = 720,
    lanes: int = 8,
    seed: int = 0,
    swimmer_height: int | None = None,
    max_per_lane: int = 1,
    enter_leave: bool = False,
    perspective: float = 0.0,
    submerged: int = 0,
    glare: bool = False,
    feather: bool = True,
):
    """Yield (BGR uint8 frame, truth entry) pairs; `simulate_pool` writes them to disk.
    `perspective` > 0 films the pool from a pole at its near end (train/poolcamera.py);
    `submerged` > 0: after each turn a swimmer glides under water, unseen, for that many frames
    (a push-off), and is absent from the truth meanwhile; `glare` drifts a patch of sun glare
    over the water; `feather` False pastes every crop with hard edges, its own water, rope and
    floor line a rectangle in the pool (train/poolpaint.py)."""
    if not 0.0 <= perspective <= 0.8:
        raise TrainError(f"perspective {perspective}: use 0 (from above) to 0.8")
    if frames < 1 or lanes < 1 or max_per_lane < 1 or width < lanes * 8 or height < 32:
        raise TrainError(
            f"bad pool: {frames} frames, {lanes} lanes x {max_per_lane}, {width}x{height} px"
        )
    if not sequences:
        raise DataError("no swimmer crop sequences to put in the pool")
    rng = np.random.default_rng(seed)
    auto = default_swimmer_height(width, height, lanes, max_per_lane)
    pool = Pool(width, height, lanes, max_per_lane, swimmer_height or auto)
    if pool.swimmer_width > pool.widest_swimmer or pool.swimmer_height > 0.9 * height:
        raise TrainError(f"swimmer_height {pool.swimmer_height} does not fit its lane")
    swimmers = plan_swimmers(sequences, pool, frames, rng, enter_leave)
    paths = [under_water(path, submerged) for path in swim_paths(swimmers, pool, frames, rng)]
    water = Water(width, height, rng)
    camera = PoleCamera(width, height, perspective) if perspective else None
    sun = Glare(width, height, rng) if glare else None
    for t in range(frames):
        frame = water.frame(t)
        draw_ropes(frame, pool)
        entries = []
        for swimmer, path in zip(swimmers, paths, strict=True):
            if path[t] is not None and (entry := paste(frame, swimmer, pool, t, path[t], feather)):
                entries.append(entry)
        if sun is not None:
            sun.apply(frame, t)
        bgr = np.clip(frame, 0, 255).astype(np.uint8)
        if camera is not None:
            bgr = camera.view(bgr)
            for entry in entries:
                entry["box"] = camera.box(entry["box"])
                entry["crop_box"] = camera.box(entry["crop_box"])
        yield bgr, {"index": t, "swimmers": entries}


def under_water(path: list, frames: int) -> list:
    """The path with the `frames` after every turn (a change of heading) unseen (None)."""
    seen = list(path)
    for t in range(1, len(path)):
        now, before = path[t], path[t - 1]
        if now is not None and before is not None and now.heading != before.heading:
            seen[t : t + frames] = [None] * len(seen[t : t + frames])
    return seen


def simulate_pool(
    sequences: dict[str, list[Path]],
    out_video: Path,
    out_truth: Path,
    frames: int = 300,
    width: int = 1280,
    height: int = 720,
    lanes: int = 8,
    fps: int = 25,
    seed: int = 0,
    swimmer_height: int | None = None,
    max_per_lane: int = 1,
    enter_leave: bool = False,
    perspective: float = 0.0,
    submerged: int = 0,
    glare: bool = False,
    feather: bool = True,
) -> Path:
    """Write the pool video (codec from FOURCC_BY_SUFFIX) and its truth JSON; returns the video.

    `swimmer_height` defaults to the tallest crop that fits a lane column (at most 40 % of the
    frame); `max_per_lane` > 1 puts that many in a lane, circle swimming at real proportions
    (train/poollayout.py); with `enter_leave`
    swimmers come in over the top edge and leave through a wall part-way through."""
    out_video, out_truth = Path(out_video), Path(out_truth)
    fourcc = FOURCC_BY_SUFFIX.get(out_video.suffix.lower())
    if fourcc is None:
        raise TrainError(f"{out_video}: use one of {', '.join(FOURCC_BY_SUFFIX)} for the video")
    out_video.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out_video), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise TrainError(f"{out_video}: OpenCV cannot write {fourcc} video here")
    entries = []
    try:
        for bgr, entry in iter_pool(
            sequences, frames, width, height, lanes, seed, swimmer_height, max_per_lane,
            enter_leave, perspective, submerged, glare, feather,
        ):  # fmt: skip
            writer.write(bgr)
            entries.append(entry)
    finally:
        writer.release()
    height_px = swimmer_height or default_swimmer_height(width, height, lanes, max_per_lane)
    truth = {"width": width, "height": height, "fps": fps, "lanes": lanes}
    truth |= {"swimmer_height": height_px, "frames": entries}
    if perspective:  # what the daemon's [pool] section says for this camera
        camera = PoleCamera(width, height, perspective)
        truth |= {"perspective": perspective, "lane_lines": camera.lane_lines(lanes),
                  "water": camera.water()}  # fmt: skip
    out_truth.parent.mkdir(parents=True, exist_ok=True)
    out_truth.write_text(json.dumps(truth))
    log.info("wrote %d frames to %s and the truth to %s", frames, out_video, out_truth)
    return out_video


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.poolsim", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--crops", type=Path, required=True, help="folder of <id>/frame_<n>.jpg")
    parser.add_argument("--out", type=Path, required=True, help="video file (.mp4 or .avi)")
    parser.add_argument("--truth", type=Path, required=True, help="ground-truth JSON file")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-per-lane", type=int, default=1, help=">1: circle swimming")
    parser.add_argument("--enter-leave", action="store_true", help="swimmers come and go")
    far = "film from a pole: the far end this much narrower (0..0.8)"
    parser.add_argument("--perspective", type=float, default=0.0, help=far)
    parser.add_argument("--submerged", type=int, default=0, help="frames unseen after a turn")
    parser.add_argument("--glare", action="store_true", help="a patch of sun glare drifts by")
    hard = "paste crops as they are, their own water, rope and floor line a hard rectangle"
    parser.add_argument("--hard-edges", action="store_true", help=hard)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        simulate_pool(
            sequences_from_folder(args.crops), args.out, args.truth, args.frames,
            args.width, args.height, args.lanes, args.fps, args.seed,
            max_per_lane=args.max_per_lane, enter_leave=args.enter_leave,
            perspective=args.perspective, submerged=args.submerged, glare=args.glare,
            feather=not args.hard_edges,
        )  # fmt: skip
    except (TrainError, OSError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
