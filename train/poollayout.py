"""Where the simulated pool's swimmers are: lanes and columns, who swims where, and how fast.

Everything is drawn once from the seed (`plan_swimmers`, `trajectory`), so a run repeats
exactly; train/poolpaint.py draws the frames, train/poolsim.py writes the video and its truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from train.errors import DataError, TrainError
from train.synth import CROP_HEIGHT, CROP_WIDTH

SPEED_RANGE = (2.0, 4.0)  # px per frame, so short test videos still show turns


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
