"""A top-view pool video with known swimmer boxes: the test bed for detection, tracking, demo.

Why: there is no real pool camera footage to test the device pipeline against, but there are
swimmer crops (real or from train/synth.py). The simulator swims each identity's crops, cycled
in time order, up and down its own lane of a blue pool and writes the ground truth beside the
video, so the detector and tracker can be scored.

Geometry (the contract the edge detector relies on): N lanes are VERTICAL columns of equal width;
thin lane ropes are vertical lines at the lane boundaries; the water is blue/cyan; swimmers are
non-water blobs inside their lane. A swimmer heading down the frame is drawn rotated by 180
degrees (head first, like the crops, which all swim up).

Truth JSON: {"width", "height", "fps", "lanes", "swimmer_height", "frames": [{"index",
"swimmers": [{"lane", "box": [x, y, w, h], "identity", "crop_box", "heading"}]}]}. `box` is the
box of the pixels that stand out from the crop's own water (see `swimmer_box`), clipped to the
frame; `crop_box` is where the whole crop was pasted; `heading` is "up" or "down".
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from train.data import list_samples
from train.errors import DataError, TrainError
from train.synth import CROP_HEIGHT, CROP_WIDTH, WATER_RGB

log = logging.getLogger(__name__)

# cv2.VideoWriter codecs that work in opencv-python-headless without extra libraries (checked:
# 'avc1'/H.264 is not available there). The output suffix picks one.
FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".avi": "MJPG"}
ROPE_BGR = ((110, 45, 20), (235, 235, 235))  # navy and white floats, alternating
ROPE_SEGMENT = 24  # px per float colour
# Fractions of the pasted width over which a crop fades into the pool: wider at the sides, where
# real crops often hold a piece of their own lane rope.
FEATHER_SIDES, FEATHER_ENDS = 0.2, 0.08
SWIMMER_CONTRAST = 45  # max channel difference from the crop's water that counts as swimmer
BORDER_PX = 8  # crop columns each side that sample its water colour
MIN_BLOB_PX = 30
SPEED_RANGE = (2.0, 4.0)  # px per frame, so short test videos still show turns
MIN_VISIBLE_PX = 8  # a swimmer less tall than this on screen is left out of the truth
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Pool:
    """The frame's geometry: lanes, the columns swimmers keep to, and the pasted crop size."""

    width: int
    height: int
    lanes: int
    per_lane: int
    swimmer_height: int

    @property
    def lane_width(self) -> float:
        return self.width / self.lanes

    @property
    def swimmer_width(self) -> int:
        return round(self.swimmer_height * CROP_WIDTH / CROP_HEIGHT)

    @property
    def rope_width(self) -> int:
        return max(2, round(self.width / 400))

    def column(self, lane: int, slot: int) -> tuple[float, float]:
        """Left x and width of a swimmer's column: its lane, split in `per_lane` equal parts."""
        part = self.lane_width / self.per_lane
        return lane * self.lane_width + slot * part, part


@dataclass(frozen=True)
class Swimmer:
    """One identity's plan for the whole video, drawn once from the seed so runs repeat."""

    identity: str
    crops: tuple[Path, ...]
    lane: int
    slot: int
    speed: float
    first_crop: int
    wobble: float  # phase of the small sideways wobble
    enter: int  # first frame in the pool (0 = there from the start)
    leave: int  # frame after which it leaves at the next wall (frames = never)


def sequences_from_folder(root: str | Path) -> dict[str, list[Path]]:
    """Crops per identity in time order, from a `root/<id>/frame_<n>.jpg` folder."""
    sequences: dict[str, list[Path]] = {}
    for sample in list_samples(root):
        sequences.setdefault(sample.identity, []).append(sample.path)
    return sequences


def default_swimmer_height(width: int, height: int, lanes: int, per_lane: int = 1) -> int:
    """The tallest crop whose width still fits its lane column, at most 40 % of the frame."""
    column = width / lanes / per_lane
    return int(min(0.9 * column * CROP_HEIGHT / CROP_WIDTH, 0.4 * height))


def plan_swimmers(sequences, pool: Pool, frames: int, rng, enter_leave: bool) -> list[Swimmer]:
    """Give each identity a lane slot (seeded shuffle), a speed and, optionally, a stay."""
    slots = [(lane, slot) for lane in range(pool.lanes) for slot in range(pool.per_lane)]
    if len(sequences) > len(slots):
        raise TrainError(
            f"{len(sequences)} identities do not fit {pool.lanes} lanes x {pool.per_lane} "
            "swimmer(s) per lane; use more lanes or a larger max_per_lane"
        )
    order = rng.permutation(len(slots))
    swimmers = []
    for k, identity in enumerate(sorted(sequences)):
        crops = tuple(sequences[identity])
        if not crops:
            raise DataError(f"identity {identity!r} has no crops")
        enter = int(rng.integers(0, max(1, frames // 3))) if enter_leave else 0
        leave = int(rng.integers(2 * frames // 3, frames)) if enter_leave else frames
        lane, slot = slots[order[k]]
        swimmers.append(
            Swimmer(
                identity=identity,
                crops=crops,
                lane=lane,
                slot=slot,
                speed=float(rng.uniform(*SPEED_RANGE)),
                first_crop=int(rng.integers(len(crops))),
                wobble=float(rng.uniform(0, 2 * math.pi)),
                enter=enter,
                leave=leave,
            )
        )
    return swimmers


def trajectory(swimmer: Swimmer, pool: Pool, frames: int, rng) -> list[tuple[float, int] | None]:
    """Top y and heading (+1 down, -1 up) per frame, or None while out of the pool.

    Swimmers turn at the walls; one that enters comes in over the top edge, and one that leaves
    swims out through the next wall it reaches after its `leave` frame."""
    top, bottom = 0.02 * pool.height, 0.98 * pool.height - pool.swimmer_height
    if swimmer.enter > 0:
        y, heading = -float(pool.swimmer_height), 1
    else:
        y, heading = float(rng.uniform(top, bottom)), int(rng.choice((-1, 1)))
    path: list[tuple[float, int] | None] = []
    state = "waiting" if swimmer.enter > 0 else "in"
    for t in range(frames):
        if state == "waiting" and t >= swimmer.enter:
            state = "entering"
        if state in ("in", "entering", "leaving"):
            path.append((y, heading))
            y += heading * swimmer.speed
            if state == "entering" and y >= top:
                state = "in"
            elif state == "in" and (y > bottom or y < top):
                if t >= swimmer.leave:
                    state = "leaving"
                else:
                    y, heading = (2 * bottom - y, -1) if y > bottom else (2 * top - y, 1)
            elif state == "leaving" and (y > pool.height or y < -pool.swimmer_height):
                state = "gone"
        else:
            path.append(None)
    return path


@lru_cache(maxsize=512)
def _load_crop(path: Path, width: int, height: int) -> tuple[np.ndarray, Box]:
    """The crop as BGR uint8 at the pasted size, and the box of the swimmer inside it."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DataError(f"{path}: not a readable image")
    bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
    return bgr, swimmer_box(bgr)


def swimmer_box(bgr: np.ndarray) -> Box:
    """Box of the pixels that stand out from the crop's own water, near its centre.

    The water colour is the median of the left and right borders; a lane rope is left out by
    keeping only blobs that reach the central columns and are not tall and thin. Rough, but it
    follows the swimmer's body (faint underwater legs included) better than a hue rule would."""
    height, width = bgr.shape[:2]
    border = np.concatenate([bgr[:, :BORDER_PX], bgr[:, -BORDER_PX:]], axis=1).reshape(-1, 3)
    blurred = cv2.GaussianBlur(bgr.astype(np.float32), (0, 0), 2)
    differs = np.abs(blurred - np.median(border, axis=0)).max(axis=-1) > SWIMMER_CONTRAST
    solid = (differs & (_feather_mask(width, height) > 0.5)).astype(np.uint8)
    solid = cv2.morphologyEx(solid, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(solid)
    keep = [s for s in stats[1:count] if _is_swimmer_blob(s, width, height)]
    if not keep:  # nothing but water: the whole crop stands in
        return (0, 0, width, height)
    x0, y0 = min(s[0] for s in keep), min(s[1] for s in keep)
    x1, y1 = max(s[0] + s[2] for s in keep), max(s[1] + s[3] for s in keep)
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _is_swimmer_blob(stats: np.ndarray, width: int, height: int) -> bool:
    """Big enough, reaching the central columns, and not a rope (tall and thin)."""
    x, _, w, h, area = stats
    rope = h >= 0.7 * height and w <= 0.15 * width
    return area >= MIN_BLOB_PX and x < 0.7 * width and x + w > 0.3 * width and not rope


@lru_cache(maxsize=8)
def _feather_mask(width: int, height: int) -> np.ndarray:
    """1 inside, fading linearly to 0 at the crop's edges, so its own water blends into the pool."""
    xs = np.minimum(np.arange(width), np.arange(width)[::-1]) / max(1.0, FEATHER_SIDES * width)
    ys = np.minimum(np.arange(height), np.arange(height)[::-1]) / max(1.0, FEATHER_ENDS * width)
    return np.clip(np.minimum.outer(ys, xs), 0, 1).astype(np.float32)


class _Water:
    """Two smooth textures drifting against each other: moving water that stays blue/cyan."""

    PAD = 64

    def __init__(self, width: int, height: int, rng: np.random.Generator) -> None:
        self.size = (width, height)
        layers = []
        for cell, amplitude in ((48, 14.0), (12, 9.0)):
            h, w = height + 2 * self.PAD, width + 2 * self.PAD
            small = rng.normal(0, amplitude, (h // cell + 2, w // cell + 2)).astype(np.float32)
            big = cv2.resize(small, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)
            layers.append(big[cell : cell + h, cell : cell + w])
        self.layers = layers
        bgr = WATER_RGB[::-1]
        self.base = np.asarray(bgr, np.float32)
        self.tint = np.float32([0.7, 0.9, 0.5])  # light mostly raises green and blue

    def frame(self, t: int) -> np.ndarray:
        width, height = self.size
        light = np.zeros((height, width), np.float32)
        for k, layer in enumerate(self.layers):
            angle = t / (90 + 40 * k) + k
            dx = round(self.PAD * (1 + 0.9 * math.sin(angle)))
            dy = round(self.PAD * (1 + 0.9 * math.cos(1.3 * angle)))
            light += layer[dy : dy + height, dx : dx + width]
        return self.base + light[..., None] * self.tint


def _draw_ropes(frame: np.ndarray, pool: Pool) -> None:
    """Thin vertical ropes at every lane boundary, the pool's side walls included."""
    segment = (np.arange(pool.height) // ROPE_SEGMENT) % 2
    colours = np.asarray(ROPE_BGR, np.float32)[segment][:, None, :]
    for boundary in range(pool.lanes + 1):
        centre = round(boundary * pool.lane_width)
        lo = min(max(0, centre - pool.rope_width // 2), pool.width - pool.rope_width)
        frame[:, lo : lo + pool.rope_width] = colours


def _paste(frame: np.ndarray, swimmer: Swimmer, pool: Pool, t: int, y: float, heading: int):
    """Blend this frame's crop into the pool; returns its truth entry or None when off-screen."""
    left, part = pool.column(swimmer.lane, swimmer.slot)
    sw, sh = pool.swimmer_width, pool.swimmer_height
    free = max(0.0, part - sw - 2 * pool.rope_width)
    x0 = round(left + (part - sw) / 2 + 0.4 * free * math.sin(t / 40 + swimmer.wobble))
    y0 = round(y)
    path = swimmer.crops[(swimmer.first_crop + t) % len(swimmer.crops)]
    crop, (bx, by, bw, bh) = _load_crop(path, sw, sh)
    if heading > 0:  # heading down the frame: head first means upside down
        crop, bx, by = crop[::-1, ::-1], sw - bx - bw, sh - by - bh
    top, bottom = max(0, y0), min(pool.height, y0 + sh)
    if bottom <= top:
        return None
    mask = _feather_mask(sw, sh)[top - y0 : bottom - y0, :, None]
    region = frame[top:bottom, x0 : x0 + sw]
    region[:] = region * (1 - mask) + crop[top - y0 : bottom - y0] * mask
    box_top, box_bottom = max(0, y0 + by), min(pool.height, y0 + by + bh)
    if box_bottom - box_top < MIN_VISIBLE_PX:
        return None
    return {
        "lane": swimmer.lane,
        "box": [x0 + bx, box_top, bw, box_bottom - box_top],
        "identity": swimmer.identity,
        "crop_box": [x0, top, sw, bottom - top],
        "heading": "down" if heading > 0 else "up",
    }


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
):
    """Yield (BGR uint8 frame, truth entry) pairs; `simulate_pool` writes them to disk."""
    if frames < 1 or lanes < 1 or max_per_lane < 1 or width < lanes * 8 or height < 32:
        raise TrainError(
            f"bad pool: {frames} frames, {lanes} lanes x {max_per_lane}, {width}x{height} px"
        )
    if not sequences:
        raise DataError("no swimmer crop sequences to put in the pool")
    rng = np.random.default_rng(seed)
    auto = default_swimmer_height(width, height, lanes, max_per_lane)
    pool = Pool(width, height, lanes, max_per_lane, swimmer_height or auto)
    if pool.swimmer_width > pool.lane_width / max_per_lane or pool.swimmer_height > 0.9 * height:
        raise TrainError(f"swimmer_height {pool.swimmer_height} does not fit a lane column")
    swimmers = plan_swimmers(sequences, pool, frames, rng, enter_leave)
    paths = [trajectory(s, pool, frames, rng) for s in swimmers]
    water = _Water(width, height, rng)
    for t in range(frames):
        frame = water.frame(t)
        _draw_ropes(frame, pool)
        entries = []
        for swimmer, path in zip(swimmers, paths, strict=True):
            if path[t] is not None and (entry := _paste(frame, swimmer, pool, t, *path[t])):
                entries.append(entry)
        bgr = np.clip(frame, 0, 255).astype(np.uint8)
        yield bgr, {"index": t, "swimmers": entries}


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
) -> Path:
    """Write the pool video (codec from FOURCC_BY_SUFFIX) and its truth JSON; returns the video.

    `swimmer_height` defaults to the tallest crop that fits a lane column (at most 40 % of the
    frame); `max_per_lane` > 1 splits each lane into side-by-side columns; with `enter_leave`
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
            sequences, frames, width, height, lanes, seed, swimmer_height, max_per_lane, enter_leave
        ):
            writer.write(bgr)
            entries.append(entry)
    finally:
        writer.release()
    height_px = swimmer_height or default_swimmer_height(width, height, lanes, max_per_lane)
    truth = {"width": width, "height": height, "fps": fps, "lanes": lanes}
    truth |= {"swimmer_height": height_px, "frames": entries}
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
    parser.add_argument("--max-per-lane", type=int, default=1)
    parser.add_argument("--enter-leave", action="store_true", help="swimmers come and go")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        simulate_pool(
            sequences_from_folder(args.crops), args.out, args.truth, args.frames,
            args.width, args.height, args.lanes, args.fps, args.seed,
            max_per_lane=args.max_per_lane, enter_leave=args.enter_leave,
        )  # fmt: skip
    except (TrainError, OSError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
