"""Deterministic synthetic swimmer crops, shaped like the real ones (top view, 180x280, RGB).

Why: tests, CI and benchmarks must run where the real crops are absent, and they need data with
the real data's hard parts: identities told apart mostly by colour (cap, suit, skin) with some
near-twins, stroke poses that change over time, water, splashes, lane ropes and blur. Frames
of one identity are time-correlated (frame n+1 is a small change from frame n: stroke phase,
drift, splash), so a time split is harder than a random split, as it is on real video.

Everything is a pure function of (identity spec, frame index, rng seeded from both), so the
same seed gives identical images.
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

from train.errors import TrainError

log = logging.getLogger(__name__)

CROP_WIDTH, CROP_HEIGHT = 180, 280
WATER_RGB = (56, 166, 208)  # median edge colour of the real crops
JPEG_QUALITY = 92
BOXES_FILE = "boxes.json"  # per identity folder: each crop's body box, the simulator's truth
TEXTURE_ROWS = 3 * CROP_HEIGHT  # the water scrolls past the swimmer, wrapping around
Rgb = tuple[int, int, int]

WHITE, BLACK, NAVY, RED = (235, 235, 230), (25, 25, 30), (30, 40, 90), (200, 40, 45)
PINK, YELLOW, GREEN, ORANGE = (230, 90, 150), (235, 210, 40), (40, 150, 60), (240, 130, 30)
SKIN_LIGHT, SKIN_MEDIUM = (235, 190, 160), (205, 150, 110)
SKIN_TAN, SKIN_DARK = (180, 115, 75), (115, 75, 50)


@dataclass(frozen=True)
class IdentitySpec:
    """What makes one synthetic swimmer recognisable: colours first, build second."""

    name: str
    cap: Rgb
    suit: Rgb
    skin: Rgb
    shoulder: float  # half shoulder width, px
    length: float  # shoulder-to-hip length, px
    cut: str  # "brief" (hips only), "jammer" (to the knees), "full" (shoulders to knees)
    period: float  # frames per arm cycle
    seed: int  # per-identity randomness: phase offsets, drift, water texture, lane rope


# Deliberately similar pairs: 1/2 (white cap, black suit; skin and build differ), 3/7 (black
# cap; suits red vs pink), 4/6 (yellow vs orange cap with dark suits).
PRESETS: tuple[tuple[Rgb, Rgb, Rgb, float, float, str], ...] = (
    (WHITE, BLACK, SKIN_LIGHT, 33, 92, "full"),
    (WHITE, BLACK, SKIN_MEDIUM, 29, 100, "full"),
    (BLACK, RED, SKIN_MEDIUM, 30, 95, "jammer"),
    (YELLOW, NAVY, SKIN_LIGHT, 31, 90, "full"),
    (GREEN, BLACK, SKIN_TAN, 34, 98, "brief"),
    (ORANGE, BLACK, SKIN_MEDIUM, 29, 94, "jammer"),
    (BLACK, PINK, SKIN_DARK, 31, 100, "full"),
    (PINK, YELLOW, SKIN_LIGHT, 27, 88, "full"),
)
CAPS = (WHITE, BLACK, RED, PINK, YELLOW, GREEN, ORANGE, NAVY)
SUITS = (BLACK, NAVY, RED, PINK, YELLOW, GREEN, WHITE)
SKINS = (SKIN_LIGHT, SKIN_MEDIUM, SKIN_TAN, SKIN_DARK)
CUTS = ("brief", "jammer", "full")


def make_identities(count: int, seed: int = 0) -> list[IdentitySpec]:
    """`count` identities named "1".."count": the presets first, then random colour mixes."""
    rng = np.random.default_rng([seed, 7919])
    specs = []
    for i in range(count):
        if i < len(PRESETS):
            cap, suit, skin, shoulder, length, cut = PRESETS[i]
        else:
            cap, suit = CAPS[rng.integers(len(CAPS))], SUITS[rng.integers(len(SUITS))]
            skin, cut = SKINS[rng.integers(len(SKINS))], CUTS[rng.integers(len(CUTS))]
            shoulder, length = rng.uniform(27, 35), rng.uniform(86, 104)
        specs.append(
            IdentitySpec(
                name=str(i + 1),
                cap=cap,
                suit=suit,
                skin=skin,
                shoulder=float(shoulder + rng.uniform(-1, 1)),
                length=float(length + rng.uniform(-2, 2)),
                cut=cut,
                period=float(rng.uniform(26, 36)),
                seed=int(rng.integers(2**31)),
            )
        )
    return specs


@lru_cache(maxsize=16)
def _water_texture(seed: int) -> np.ndarray:
    """A tall float RGB water texture (smooth blobs plus caustic ripples) to scroll through."""
    rng = np.random.default_rng([seed, 1])
    coarse = _periodic_noise(rng, 20, 1.0)
    fine = _periodic_noise(rng, 3, 0.6)
    ys, xs = np.mgrid[0:TEXTURE_ROWS, 0:CROP_WIDTH].astype(np.float32)
    wy = 2 * np.pi * ys / TEXTURE_ROWS  # whole periods, so the texture wraps without a seam
    ripple = np.sin(xs / 9 + 2 * np.sin(wy * 12)) * np.sin(wy * 25 + 2 * np.sin(xs / 17))
    light = 14 * coarse + 12 * fine + 14 * np.maximum(ripple, 0) ** 3
    water = np.asarray(WATER_RGB, np.float32) + light[..., None] * np.float32([0.5, 0.9, 0.7])
    return water


def _periodic_noise(rng: np.random.Generator, cell: int, scale: float) -> np.ndarray:
    """Smooth unit noise of TEXTURE_ROWS x CROP_WIDTH that wraps vertically (tile, resize, cut)."""
    small = rng.normal(0, scale, (TEXTURE_ROWS // cell, CROP_WIDTH // cell)).astype(np.float32)
    big = cv2.resize(
        np.tile(small, (3, 1)), (CROP_WIDTH, 3 * TEXTURE_ROWS), interpolation=cv2.INTER_CUBIC
    )
    return big[TEXTURE_ROWS : 2 * TEXTURE_ROWS]


class _Canvas:
    """Paints shapes into a colour layer and an alpha mask together, composited once at the end;
    the body's shapes (not splash or foam) also into a mask whose box is the crop's truth."""

    def __init__(self) -> None:
        self.layer = np.zeros((CROP_HEIGHT, CROP_WIDTH, 3), np.float32)
        self.alpha = np.zeros((CROP_HEIGHT, CROP_WIDTH), np.float32)
        self.body = np.zeros((CROP_HEIGHT, CROP_WIDTH), np.uint8)

    def poly(self, points: list[tuple[float, float]], colour: Rgb, alpha: float) -> None:
        pts = [np.round(np.asarray(points) * 4).astype(np.int32)]
        cv2.fillPoly(self.layer, pts, colour, cv2.LINE_AA, shift=2)
        cv2.fillPoly(self.alpha, pts, alpha, cv2.LINE_AA, shift=2)
        cv2.fillPoly(self.body, pts, 1, cv2.LINE_8, shift=2)

    def ellipse(
        self, centre, axes, angle: float, colour: Rgb, alpha: float, body: bool = True
    ) -> None:
        c = (round(centre[0] * 4), round(centre[1] * 4))
        a = (max(1, round(axes[0] * 4)), max(1, round(axes[1] * 4)))
        cv2.ellipse(self.layer, c, a, angle, 0, 360, colour, -1, cv2.LINE_AA, shift=2)
        cv2.ellipse(self.alpha, c, a, angle, 0, 360, alpha, -1, cv2.LINE_AA, shift=2)
        if body:
            cv2.ellipse(self.body, c, a, angle, 0, 360, 1, -1, cv2.LINE_8, shift=2)

    def limb(self, p0, p1, width: float, colour: Rgb, alpha: float) -> None:
        pts = [np.round(np.asarray([p0, p1]) * 4).astype(np.int32)]
        thickness = max(1, round(width))
        cv2.polylines(self.layer, pts, False, colour, thickness, cv2.LINE_AA, shift=2)
        cv2.polylines(self.alpha, pts, False, alpha, thickness, cv2.LINE_AA, shift=2)
        cv2.polylines(self.body, pts, False, 1, thickness, cv2.LINE_8, shift=2)

    def body_box(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the body's pixels in the crop: arms and legs, not splash."""
        x, y, w, h = cv2.boundingRect(self.body)
        return int(x), int(y), int(w), int(h)


def _wave(spec: IdentitySpec, frame: int, period: float, k: int) -> float:
    """A smooth per-identity oscillation in [-1, 1]: slow changes that make frames correlated."""
    offset = (spec.seed // (k + 1) * 7919 + 31 * k) % 628 / 100
    return math.sin(2 * math.pi * frame / period + offset)


def _draw_arm(c: _Canvas, spec: IdentitySpec, shoulder, side: int, angle: float, rng) -> None:
    """Freestyle arm seen from above: reaches forward, pulls under the body, recovers wide."""
    reach = 0.95 * spec.length
    lift = math.sin(angle)  # > 0: recovering over the water; < 0: pulling underwater
    hand = (
        shoulder[0] + side * (0.5 * reach * max(lift, 0) - 0.35 * spec.shoulder * max(-lift, 0)),
        shoulder[1] - reach * math.cos(angle),
    )
    elbow = ((shoulder[0] + hand[0]) / 2 + side * 8 * max(lift, 0.2), (shoulder[1] + hand[1]) / 2)
    alpha = 0.85 if lift > 0 else 0.5
    c.limb(shoulder, elbow, 0.36 * spec.shoulder, spec.skin, alpha)
    c.limb(elbow, hand, 0.3 * spec.shoulder, spec.skin, alpha)
    if math.cos(angle) > 0.75 and lift < 0.3:  # the hand enters the water: a splash
        for _ in range(4):
            dx, dy = rng.normal(0, 6, 2)
            c.ellipse(
                (hand[0] + dx, hand[1] + dy), rng.uniform(3, 8, 2), 0, WHITE, 0.55, body=False
            )


def _draw_body(c: _Canvas, spec: IdentitySpec, cx: float, head_y: float, phase: float, rng):
    """Torso, suit and legs, shoulders narrowed by the body roll of the stroke."""
    sw, length = _rolled_shoulder(spec, phase), spec.length
    ys, yh = head_y + 20, head_y + 20 + length
    legs = 0.95 * length
    for side in (-1, 1):  # flutter kick, legs fading with depth
        kick = 5 * math.sin(3 * phase + (side + 1))
        hip, foot = (cx + side * 0.38 * sw, yh - 4), (cx + side * 0.3 * sw + kick, yh + legs)
        c.limb(hip, foot, 0.42 * sw, spec.skin, 0.55)
        if spec.cut == "jammer":
            knee = ((hip[0] + foot[0]) / 2, (hip[1] + foot[1]) / 2)
            c.limb(hip, knee, 0.46 * sw, spec.suit, 0.7)
    torso = [(cx - 0.74 * sw, yh), (cx - 0.7 * sw, ys + 0.6 * length), (cx - sw, ys + 8)]
    torso += [(cx - 0.8 * sw, ys - 3), (cx - 0.3 * sw, ys - 7)]
    c.poly(torso + [(2 * cx - x, y) for x, y in reversed(torso)], spec.skin, 0.9)
    top = ys + {"brief": 0.75, "jammer": 0.7, "full": 0.22}[spec.cut] * length
    suit = [(cx - 0.74 * sw, yh + 9), (cx - 0.7 * sw, max(top, ys + 0.6 * length))]
    suit += [(cx - 0.72 * sw, top), (cx - 0.25 * sw, top + 0.12 * length)]
    c.poly(suit + [(2 * cx - x, y) for x, y in reversed(suit)], spec.suit, 0.92)
    if spec.cut == "full":  # straps over the shoulder blades
        for side in (-1, 1):
            c.limb(
                (cx + side * 0.65 * sw, top + 2), (cx + side * 0.5 * sw, ys - 4), 5, spec.suit, 0.9
            )
    for _ in range(6):  # foam from the kick
        dx, dy = rng.normal(0, (0.6 * sw, 10))
        c.ellipse((cx + dx, yh + legs + dy - 5), rng.uniform(2, 7, 2), 0, WHITE, 0.4, body=False)


def _rolled_shoulder(spec: IdentitySpec, phase: float) -> float:
    return spec.shoulder * (1 - 0.12 * abs(math.sin(phase)))


def render_swimmer(spec: IdentitySpec, frame: int, rng: np.random.Generator) -> np.ndarray:
    """One crop (RGB uint8, 280x180) of `spec` at time `frame`; `rng` adds per-frame detail."""
    return render_boxed(spec, frame, rng)[0]


def render_boxed(
    spec: IdentitySpec, frame: int, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The crop and the box (x, y, w, h) of the body drawn in it: the truth a detector of the
    simulated pool is scored against, exact where a box found in the pixels would guess."""
    phase = 2 * math.pi * frame / spec.period + spec.seed % 100
    cx = CROP_WIDTH / 2 + 7 * _wave(spec, frame, 97, 1) + 3 * _wave(spec, frame, 41, 2)
    head_y = 58 + 5 * _wave(spec, frame, 71, 3)
    c = _Canvas()
    arms = [(side, phase + (side + 1) * math.pi / 2) for side in (-1, 1)]  # half a cycle apart
    sw = _rolled_shoulder(spec, phase)
    for over_water in (False, True):  # a pulling arm is under the body, a recovering one over it
        if over_water:
            _draw_body(c, spec, cx, head_y, phase, rng)
            _draw_head(c, spec, cx, head_y, phase)
        for side, angle in arms:
            if (math.sin(angle) > 0) == over_water:
                _draw_arm(c, spec, (cx + side * sw, head_y + 20), side, angle, rng)
    _draw_splash(c, spec, frame, (cx, head_y), rng)
    return _finish(c, spec, frame, rng), c.body_box()


def _draw_splash(c: _Canvas, spec: IdentitySpec, frame: int, head, rng) -> None:
    """White water over the body, heavier in some stretches of the race than in others."""
    level = max(0.0, _wave(spec, frame, 83, 8))
    for _ in range(round(14 * level)):
        x, y = head[0] + rng.normal(0, spec.shoulder), head[1] + rng.uniform(0, 2 * spec.length)
        angle, alpha = rng.uniform(0, 180), 0.35 + 0.3 * level
        c.ellipse((x, y), rng.uniform(3, 10, 2), angle, WHITE, alpha, body=False)


def _draw_head(c: _Canvas, spec: IdentitySpec, cx: float, head_y: float, phase: float) -> None:
    turn = 3 * math.sin(phase)  # breathing turns the head a little
    c.ellipse((cx + turn, head_y + 8), (9, 8), 0, spec.skin, 0.8)  # neck and ears
    c.ellipse((cx + turn, head_y), (12.5, 15), turn * 3, spec.cap, 0.97)


def _finish(c: _Canvas, spec: IdentitySpec, frame: int, rng: np.random.Generator) -> np.ndarray:
    """Composite onto scrolling water, add a lane rope sometimes, blur, light and noise."""
    texture = _water_texture(spec.seed)
    start = (frame * 4) % TEXTURE_ROWS  # the swimmer moves forward: the water scrolls down
    rows = (np.arange(CROP_HEIGHT) - start) % TEXTURE_ROWS
    water = texture[rows]
    depth = 0.35 + 0.12 * _wave(spec, frame, 53, 4)  # water over the swimmer tints the body
    swimmer = (1 - depth) * c.layer + depth * water
    alpha = c.alpha[..., None]
    image = (1 - alpha) * water + alpha * swimmer
    _draw_rope(image, spec, frame)
    sigma = 1.3 + 0.5 * _wave(spec, frame, 37, 5)
    image = cv2.GaussianBlur(image, (0, 0), sigma)
    cast = [
        1 + 0.07 * _wave(spec, frame, period, k) for k, period in ((6, 151), (9, 197), (10, 173))
    ]
    image *= np.float32(cast)  # slow light and white-balance drift, as over a real race
    image += rng.normal(0, 3, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _draw_rope(image: np.ndarray, spec: IdentitySpec, frame: int) -> None:
    """A dark lane rope along one side for some identities, drifting in and out of view."""
    side = spec.seed % 3 - 1  # -1 left, 0 none, 1 right
    if side == 0:
        return
    x = 8 + 14 * _wave(spec, frame, 89, 7)
    x = x if side < 0 else CROP_WIDTH - x
    lo, hi = max(0, round(x - 6)), min(CROP_WIDTH, round(x + 6))
    if lo >= hi:
        return
    image[:, lo:hi] = (20, 50, 140)
    floats = ((np.arange(CROP_HEIGHT) + frame * 4) // 14) % 2 == 0
    image[floats, lo:hi] = (30, 70, 190)


def generate_dataset(
    out_dir: str | Path, identities: int = 6, frames: int = 60, seed: int = 0
) -> Path:
    """Write out_dir/<id>/frame_<n>.jpg (ids "1".."N", n = 1..frames) and each folder's
    BOXES_FILE (the body box per crop); returns out_dir."""
    if identities < 1 or frames < 1:
        raise TrainError(f"need at least one identity and one frame, got {identities}x{frames}")
    out = Path(out_dir)
    for spec in make_identities(identities, seed):
        folder = out / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        boxes = {}
        for n in range(1, frames + 1):
            rgb, box = render_boxed(spec, n, np.random.default_rng([seed, spec.seed, n]))
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            name = f"frame_{n}.jpg"
            cv2.imwrite(str(folder / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            boxes[name] = box
        (folder / BOXES_FILE).write_text(json.dumps(boxes))
    log.info("wrote %d identities x %d frames to %s", identities, frames, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.synth", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out", type=Path, help="folder to write <id>/frame_<n>.jpg into")
    parser.add_argument("--identities", type=int, default=6)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        generate_dataset(args.out, args.identities, args.frames, args.seed)
    except (TrainError, OSError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
