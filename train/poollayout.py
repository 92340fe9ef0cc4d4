"""Where the simulated pool's swimmers are: lanes, who swims where, and how fast.

One swimmer to a lane swims up and down it, wobbling a little sideways. Several to a lane circle
swim as a club session does: down the frame on one side of the lane and back up on the other,
turning across at the walls, and a faster swimmer who catches a slower one pulls out to the lane's
middle, passes side by side and moves back. While someone else is out in the middle near it, it
waits on the feet of the one ahead, as club swimmers do: no two bodies lie on one another.
Swimmers are pasted at real proportions there (a body about a fifth of the lane wide). Everything
is drawn once from the seed (`plan_swimmers`, `swim_paths`), so a run repeats exactly;
train/poolpaint.py draws the frames, train/poolsim.py writes the video and its truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from train.errors import DataError, TrainError
from train.synth import CROP_HEIGHT, CROP_WIDTH

SPEED_RANGE = (2.0, 4.0)  # px per frame, so short test videos still show turns
# Circle swimming (several to a lane), in lane widths. A pasted crop is 0.45 of the lane: the
# body, about 40 % of a crop, is then a fifth of the lane, a 0.45 m torso in a 2.5 m lane.
CIRCLE_CROP = 0.45
SIDE = 0.25  # each direction keeps to the middle of its half of the lane (keep right)
SIDESTEP = 0.02  # sideways speed per frame: crossing at a wall or pulling out takes a second
PASS_AHEAD = 1.0  # swimmer lengths: a faster swimmer this close behind another pulls out...
PASS_BEHIND = 1.0  # ...and moves back once it is a length ahead
FOLLOW = 0.9  # swimmer lengths: the closest one comes behind another in its line (on its feet)
CLEAR = 3.0  # swimmer lengths: one out in the middle this near keeps the others from pulling out
WOBBLE = 0.4  # a lone swimmer drifts sideways over this share of its lane's free width


class Spot(NamedTuple):
    """Where a swimmer is in one frame: sideways from its lane's centre, its top, its heading."""

    offset: float  # px, + is right in the (top-view) frame
    top: float  # px
    heading: int  # +1 down the frame, -1 up


@dataclass(frozen=True)
class Pool:
    """The frame's geometry: lanes, swimmers per lane, and the pasted crop size."""

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
        """Floats about 12 cm across in a 2.5 m lane."""
        return max(2, round(0.05 * self.lane_width))

    @property
    def circling(self) -> bool:
        return self.per_lane > 1

    @property
    def widest_swimmer(self) -> float:
        """A lone swimmer may fill its lane; circling ones share it, one direction to a half."""
        return self.lane_width * (0.5 if self.circling else 1.0)

    def lane_centre(self, lane: int) -> float:
        return (lane + 0.5) * self.lane_width


@dataclass(frozen=True)
class Swimmer:
    """One identity's plan for the whole video, drawn once from the seed so runs repeat."""

    identity: str
    crops: tuple[Path, ...]
    lane: int
    speed: float
    first_crop: int
    wobble: float  # phase of the small sideways wobble
    enter: int  # first frame in the pool (0 = there from the start)
    leave: int  # frame after which it leaves at the next wall (frames = never)


def default_swimmer_height(width: int, height: int, lanes: int, per_lane: int = 1) -> int:
    """A lone swimmer: the tallest crop 90 % of its lane wide; circling ones: real proportions
    (CIRCLE_CROP); at most 40 % of the frame either way."""
    across = 0.9 if per_lane == 1 else CIRCLE_CROP
    return int(min(across * width / lanes * CROP_HEIGHT / CROP_WIDTH, 0.4 * height))


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
        lane, _ = slots[order[k]]
        swimmers.append(
            Swimmer(
                identity=identity,
                crops=crops,
                lane=lane,
                speed=float(rng.uniform(*SPEED_RANGE)),
                first_crop=int(rng.integers(len(crops))),
                wobble=float(rng.uniform(0, 2 * math.pi)),
                enter=enter,
                leave=leave,
            )
        )
    return swimmers


def swim_paths(swimmers: list[Swimmer], pool: Pool, frames: int, rng) -> list[list[Spot | None]]:
    """Each swimmer's Spot per frame, None while out of the pool (in `swimmers`' order)."""
    if not pool.circling:
        return [_lone_path(s, pool, frames, rng) for s in swimmers]
    paths: dict[str, list[Spot | None]] = {}
    for lane in range(pool.lanes):
        here = [s for s in swimmers if s.lane == lane]
        lane_paths = _circle_lane(here, pool, frames, rng)
        paths |= dict(zip([s.identity for s in here], lane_paths, strict=True))
    return [paths[s.identity] for s in swimmers]


def _lone_path(swimmer: Swimmer, pool: Pool, frames: int, rng) -> list[Spot | None]:
    """Up and down the lane, turning at the walls; one that enters comes in over the top edge,
    and one that leaves swims out through the next wall it reaches after its `leave` frame."""
    top, bottom = 0.02 * pool.height, 0.98 * pool.height - pool.swimmer_height
    if swimmer.enter > 0:
        y, heading = -float(pool.swimmer_height), 1
    else:
        y, heading = float(rng.uniform(top, bottom)), int(rng.choice((-1, 1)))
    free = max(0.0, pool.lane_width - pool.swimmer_width - 2 * pool.rope_width)
    path: list[Spot | None] = []
    state = "waiting" if swimmer.enter > 0 else "in"
    for t in range(frames):
        if state == "waiting" and t >= swimmer.enter:
            state = "entering"
        if state in ("in", "entering", "leaving"):
            path.append(Spot(WOBBLE * free * math.sin(t / 40 + swimmer.wobble), y, heading))
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


def _circle_lane(swimmers: list[Swimmer], pool: Pool, frames: int, rng) -> list[list[Spot | None]]:
    """One lane's circle swimming. Each swimmer goes round a loop: `s` in [0, length) is the way
    down the frame (on its left side), [length, 2 length) the way back up (on the right). They
    start spread round the loop; one that enters pushes off the top wall, one that leaves gets
    out at the next wall after its `leave` frame."""
    top, bottom = 0.02 * pool.height, 0.98 * pool.height - pool.swimmer_height
    length, step = bottom - top, SIDESTEP * pool.lane_width
    lap = 2 * length
    loop: list[float | None] = [
        0.0 if s.enter > 0 else (k + rng.uniform(0, 0.5)) * lap / len(swimmers)
        for k, s in enumerate(swimmers)
    ]
    keep = SIDE * pool.lane_width  # each direction's line, sideways from the lane's centre
    side = [(-1 if s < length else 1) * keep for s in loop]
    out = [False] * len(swimmers)  # pulled out to the middle, passing
    pace = [s.speed for s in swimmers]  # px moved in the last frame
    paths: list[list[Spot | None]] = [[] for _ in swimmers]
    size = pool.swimmer_height
    for t in range(frames):
        here = [i for i, s in enumerate(swimmers) if s.enter <= t and loop[i] is not None]
        at = list(loop)  # where everyone was as the frame began
        ys = {i: _y(at[i], top, bottom, length) for i in here}
        for i in range(len(swimmers)):
            if i not in here:
                paths[i].append(None)
                continue
            down = at[i] < length
            if not any(_passing(i, j, at, swimmers, length, size) for j in here):
                out[i] = False
            elif not out[i]:
                out[i] = not any(out[k] and abs(ys[k] - ys[i]) < CLEAR * size for k in here)
            target = 0.0 if out[i] else (-1 if down else 1) * keep
            side[i] += max(-step, min(step, target - side[i]))
            paths[i].append(Spot(side[i], ys[i], 1 if down else -1))
            pace[i] = swimmers[i].speed
            for j in here:  # on the feet of the one ahead in its line (round a turn too): no closer
                ahead = (at[j] - at[i]) % lap
                in_line = abs(side[j] - side[i]) < keep
                if j != i and ahead < FOLLOW * size + pace[j] and in_line:
                    pace[i] = min(pace[i], max(0.0, ahead + pace[j] - FOLLOW * size))
            after = at[i] + pace[i]
            at_wall = (at[i] < length) != (after % lap < length)
            loop[i] = None if at_wall and t >= swimmers[i].leave else after % lap
    return paths


def _y(s: float, top: float, bottom: float, length: float) -> float:
    """The top of a swimmer `s` round its lane's loop: down the frame, then back up."""
    return top + s if s < length else bottom - (s - length)


def _passing(i: int, j: int, loop, swimmers: list[Swimmer], length: float, size: float) -> bool:
    """Whether swimmer i is overtaking j: faster, going the same way, from just behind it
    until a length ahead."""
    if i == j or loop[j] is None or (loop[i] < length) != (loop[j] < length):
        return False
    ahead = loop[j] - loop[i]
    return swimmers[i].speed > swimmers[j].speed and -PASS_BEHIND * size < ahead < PASS_AHEAD * size
