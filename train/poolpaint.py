"""Painting a simulated pool frame: moving water, lane ropes, and crops feathered into it.

Also where the swimmer is inside a crop, the truth box the detector is scored against: the body
the synthetic generator drew (its folder's boxes file, train/synth.py), or, for a real crop, the
box of the pixels that stand out from the crop's own water (`swimmer_box`).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from train.errors import DataError
from train.poollayout import Pool, Spot, Swimmer
from train.synth import BOXES_FILE, WATER_RGB

# Lane ropes are strings of round floats: red for the last fifth of the length at each end
# (the 5 m warning of a 25 m pool), navy and white in runs of ROPE_RUN floats between.
ROPE_BGR = ((110, 45, 20), (235, 235, 235))
ROPE_END_BGR = (40, 40, 200)
ROPE_RUN = 3
GLARE = (0.12, 0.05, 0.8)  # sun glare: size (frame widths) across, along the pool; peak whitening
# Fractions of the pasted width over which a crop fades into the pool: wider at the sides, where
# real crops often hold a piece of their own lane rope.
FEATHER_SIDES, FEATHER_ENDS = 0.2, 0.08
SWIMMER_CONTRAST = 45  # max channel difference from the crop's water that counts as swimmer
BORDER_PX = 8  # crop columns each side that sample its water colour
MIN_BLOB_FRAC = 0.01  # of the crop's area: smaller blobs are spray or a rope's float
# Darker pixels within this many hue steps (OpenCV's 0..180) of the water and no less saturated
# are water seen deeper: the floor line of the pool the crop was filmed in, not the swimmer.
DEEP_HUE_STEPS = 8
MIN_VISIBLE_PX = 8  # a swimmer less tall than this on screen is left out of the truth
Box = tuple[int, int, int, int]


@lru_cache(maxsize=512)
def load_crop(path: Path, width: int, height: int) -> tuple[np.ndarray, Box]:
    """The crop as BGR uint8 at the pasted size, and the box of the swimmer inside it."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DataError(f"{path}: not a readable image")
    drawn = _drawn_boxes(path.parent).get(path.name)
    x, y, w, h = drawn or swimmer_box(bgr)
    sx, sy = width / bgr.shape[1], height / bgr.shape[0]
    box = (round(x * sx), round(y * sy), max(1, round(w * sx)), max(1, round(h * sy)))
    return cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA), box


@lru_cache(maxsize=64)
def _drawn_boxes(folder: Path) -> dict[str, Box]:
    """The body boxes the synthetic generator wrote for a folder's crops; none for real ones."""
    path = folder / BOXES_FILE
    if not path.is_file():
        return {}
    try:
        return {name: tuple(box) for name, box in json.loads(path.read_text()).items()}
    except (ValueError, TypeError, AttributeError) as error:
        raise DataError(f"{path}: not a boxes file ({error})") from error


def swimmer_box(bgr: np.ndarray) -> Box:
    """Box of the pixels that stand out from the crop's own water, near its centre.

    The water colour is the median of the left and right borders; darker water of its hue (the
    floor line under a real swimmer) is left out, and so is a lane rope, by keeping only blobs
    that reach the central columns and are not tall and thin. Rough, but it follows the
    swimmer's body (faint underwater legs included) better than a hue rule alone would."""
    height, width = bgr.shape[:2]
    border = np.concatenate([bgr[:, :BORDER_PX], bgr[:, -BORDER_PX:]], axis=1).reshape(-1, 3)
    water = np.median(border, axis=0)
    blurred = cv2.GaussianBlur(bgr.astype(np.float32), (0, 0), 2)
    differs = np.abs(blurred - water).max(axis=-1) > SWIMMER_CONTRAST
    hsv = cv2.cvtColor(blurred.clip(0, 255).astype(np.uint8), cv2.COLOR_BGR2HSV).astype(int)
    water_hsv = cv2.cvtColor(water.astype(np.uint8).reshape(1, 1, 3), cv2.COLOR_BGR2HSV)
    hue, saturation, value = water_hsv.reshape(3).astype(int)
    deep = (
        (np.abs(hsv[..., 0] - hue) <= DEEP_HUE_STEPS)
        & (hsv[..., 1] >= saturation)
        & (hsv[..., 2] < value)
    )
    solid = (differs & ~deep & (feather_mask(width, height) > 0.5)).astype(np.uint8)
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
    return (
        area >= MIN_BLOB_FRAC * width * height
        and x < 0.7 * width
        and x + w > 0.3 * width
        and not rope
    )


@lru_cache(maxsize=8)
def feather_mask(width: int, height: int, soft: bool = True) -> np.ndarray:
    """1 inside, fading linearly to 0 at the crop's edges, so its own water blends into the pool;
    1 everywhere when not `soft`: the crop pasted as it is, its own water, lane rope and floor
    line a hard-edged rectangle in the pool, as a composite made in a hurry has it."""
    if not soft:
        return np.ones((height, width), np.float32)
    xs = np.minimum(np.arange(width), np.arange(width)[::-1]) / max(1.0, FEATHER_SIDES * width)
    ys = np.minimum(np.arange(height), np.arange(height)[::-1]) / max(1.0, FEATHER_ENDS * width)
    return np.clip(np.minimum.outer(ys, xs), 0, 1).astype(np.float32)


class Water:
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


@lru_cache(maxsize=4)
def rope_layer(pool: Pool) -> tuple[np.ndarray, np.ndarray]:
    """Every lane boundary's floats (the side walls' included) as a BGR layer and its 0/1 mask,
    drawn once: ropes do not move."""
    layer = np.zeros((pool.height, pool.width, 3), np.float32)
    size = pool.rope_width
    for boundary in range(pool.lanes + 1):
        x = min(max(size // 2, round(boundary * pool.lane_width)), pool.width - 1 - size // 2)
        for k, y in enumerate(range(size // 2, pool.height, size)):
            near_wall = min(y, pool.height - y) < 0.2 * pool.height
            colour = ROPE_END_BGR if near_wall else ROPE_BGR[(k // ROPE_RUN) % 2]
            cv2.circle(layer, (x, y), max(1, size // 2), colour, -1, cv2.LINE_AA)
    mask = (layer.max(axis=-1, keepdims=True) > 0).astype(np.float32)
    return layer, mask


def draw_ropes(frame: np.ndarray, pool: Pool) -> None:
    """The lane ropes over the water."""
    layer, mask = rope_layer(pool)
    frame[:] = frame * (1 - mask) + layer


class Glare:
    """A patch of sun glare drifting slowly over the water: whitened, washed-out pixels that a
    colour rule must not mistake for a swimmer."""

    def __init__(self, width: int, height: int, rng: np.random.Generator) -> None:
        self.size = (width, height)
        self.phase = rng.uniform(0, 2 * math.pi, 2)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self.grid = (xs, ys)

    def apply(self, frame: np.ndarray, t: int) -> None:
        (width, height), (xs, ys) = self.size, self.grid
        across, along, peak = GLARE
        cx = width * (0.5 + 0.35 * math.sin(t / 300 + self.phase[0]))
        cy = height * (0.5 + 0.3 * math.sin(t / 220 + self.phase[1]))
        shape = ((xs - cx) / (across * width)) ** 2 + ((ys - cy) / (along * width * 2)) ** 2
        light = peak * np.exp(-0.5 * shape)[..., None]
        frame[:] = frame * (1 - light) + 255 * light


def paste(
    frame: np.ndarray, swimmer: Swimmer, pool: Pool, t: int, spot: Spot, feather: bool = True
):
    """Blend this frame's crop into the pool (`feather_mask`); returns its truth entry or None
    when off-screen."""
    sw, sh = pool.swimmer_width, pool.swimmer_height
    x0 = round(pool.lane_centre(swimmer.lane) + spot.offset - sw / 2)
    y0, heading = round(spot.top), spot.heading
    path = swimmer.crops[(swimmer.first_crop + t) % len(swimmer.crops)]
    crop, (bx, by, bw, bh) = load_crop(path, sw, sh)
    if heading > 0:  # heading down the frame: head first means upside down
        crop, bx, by = crop[::-1, ::-1], sw - bx - bw, sh - by - bh
    top, bottom = max(0, y0), min(pool.height, y0 + sh)
    if bottom <= top:
        return None
    mask = feather_mask(sw, sh, feather)[top - y0 : bottom - y0, :, None]
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
