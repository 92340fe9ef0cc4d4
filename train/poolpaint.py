"""Painting a simulated pool frame: moving water, lane ropes, and crops feathered into it.

Also where the swimmer is inside a crop (`swimmer_box`): the truth box the detector is scored
against is the box of the pixels that stand out from the crop's own water.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from train.errors import DataError
from train.poollayout import Pool, Swimmer
from train.synth import WATER_RGB

ROPE_BGR = ((110, 45, 20), (235, 235, 235))  # navy and white floats, alternating
ROPE_SEGMENT = 24  # px per float colour
# Fractions of the pasted width over which a crop fades into the pool: wider at the sides, where
# real crops often hold a piece of their own lane rope.
FEATHER_SIDES, FEATHER_ENDS = 0.2, 0.08
SWIMMER_CONTRAST = 45  # max channel difference from the crop's water that counts as swimmer
BORDER_PX = 8  # crop columns each side that sample its water colour
MIN_BLOB_PX = 30
MIN_VISIBLE_PX = 8  # a swimmer less tall than this on screen is left out of the truth
Box = tuple[int, int, int, int]


@lru_cache(maxsize=512)
def load_crop(path: Path, width: int, height: int) -> tuple[np.ndarray, Box]:
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
    solid = (differs & (feather_mask(width, height) > 0.5)).astype(np.uint8)
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
def feather_mask(width: int, height: int) -> np.ndarray:
    """1 inside, fading linearly to 0 at the crop's edges, so its own water blends into the pool."""
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


def draw_ropes(frame: np.ndarray, pool: Pool) -> None:
    """Thin vertical ropes at every lane boundary, the pool's side walls included."""
    segment = (np.arange(pool.height) // ROPE_SEGMENT) % 2
    colours = np.asarray(ROPE_BGR, np.float32)[segment][:, None, :]
    for boundary in range(pool.lanes + 1):
        centre = round(boundary * pool.lane_width)
        lo = min(max(0, centre - pool.rope_width // 2), pool.width - pool.rope_width)
        frame[:, lo : lo + pool.rope_width] = colours


def paste(frame: np.ndarray, swimmer: Swimmer, pool: Pool, t: int, y: float, heading: int):
    """Blend this frame's crop into the pool; returns its truth entry or None when off-screen."""
    left, part = pool.column(swimmer.lane, swimmer.slot)
    sw, sh = pool.swimmer_width, pool.swimmer_height
    free = max(0.0, part - sw - 2 * pool.rope_width)
    x0 = round(left + (part - sw) / 2 + 0.4 * free * math.sin(t / 40 + swimmer.wobble))
    y0 = round(y)
    path = swimmer.crops[(swimmer.first_crop + t) % len(swimmer.crops)]
    crop, (bx, by, bw, bh) = load_crop(path, sw, sh)
    if heading > 0:  # heading down the frame: head first means upside down
        crop, bx, by = crop[::-1, ::-1], sw - bx - bw, sh - by - bh
    top, bottom = max(0, y0), min(pool.height, y0 + sh)
    if bottom <= top:
        return None
    mask = feather_mask(sw, sh)[top - y0 : bottom - y0, :, None]
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
