"""Finding swimmers in a top-view pool frame: by water colour (no model), or with a TFLite SSD.

The default `WaterDetector` needs no model, so a new pool works on day one. From above, the
water is the one big blue/cyan surface, so its colour is measured on every frame (the median,
which follows daylight and lighting changes) and a swimmer is a blob that is not that colour.
The water's saturation and brightness are measured locally too, cell by cell over its
water-hued pixels: sun glare and shade wash out or darken a large patch of water but keep its
hue, and without that a glare patch is one huge "swimmer" and a swimmer in it is lost.
Lane boundaries come from the pool geometry (edge/geometry.py: equal columns, or the config's
lines in perspective); clearing a thin band along every boundary both erases the lane ropes
and splits two swimmers who touch across a rope. Only the configured water (its polygon less
the ignore masks) is searched, and the water colour is measured there. Rows and columns that
are mostly not water (the deck at the pool's ends, a rope, a floor line bluer than the water)
are cleared too, a swimmer never fills one, but not where a swimmer lies across a thin one.
Darker pixels of the water's own hue (shadows, most floor lines) count as water. A blob
must also have a solid core (`CORE_FRAC` of the expected swimmer's width, `swimmer_width` of a
lane): thin things such as rope remnants and spray go, while a swimmer's thin arms and legs
stay attached to its body. A blob with two large cores in long parts is two swimmers touching
(close behind, or side by side in a lane) and is cut between them (`SPLIT_CORE_SHARE`). Arms
and legs under a film of water are nearly the water's colour, so a swimmer's box then reaches
out to the faint blob around it, found at `FAINT_FRAC` of the tolerances (hysteresis, as an
edge detector's two thresholds): on the club session (bench/session.py) that took recall at
IoU >= 0.5 with the drawn bodies from 47.6 % to 70.1 %.
Everything runs on a frame scaled down to 320 pixels wide, or 640 where the expected swimmer
would be under `MIN_SWIMMER_PX` across at 320 (`process_width`), which keeps detection to a
few ms on one core. The water's local colour is measured in cells that scale with it.

`SsdDetector` runs a user-supplied TFLite detection model with the standard SSD outputs
(boxes [1,N,4] as ymin,xmin,ymax,xmax in 0..1, classes [1,N], scores [1,N], count [1]).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from edge.config import DetectorConfig, PoolConfig, check_section
from edge.errors import ConfigError, ModelError
from edge.geometry import pool_geometry
from edge.types import Box, Detection
from edge.vision.colour import channel_medians
from edge.vision.runtime import make_interpreter

log = logging.getLogger(__name__)

# Frames are segmented at the first of these widths (never above the frame's own) at which
# the expected swimmer (`swimmer_width` of a lane) is MIN_SWIMMER_PX across: 16 and 4 times
# fewer pixels than 1280x720. At 320 a club session's swimmer (a fifth of a lane) is 6 px
# across and its arm one: on that session (900 frames), recall at IoU >= 0.5 with the drawn
# bodies 83.3 % at 320 against 90.5 % at 640 (precision 88.7 against 92.8 %). One swimmer to a
# lane (half its width, 20 px at 320) keeps 320 and its cost: 1.9 against 5.5 ms a frame.
PROCESS_WIDTHS = (320, 640)
MIN_SWIMMER_PX = 12
# A slight blur (sigma, processing pixels) evens out water ripples and JPEG noise; a stronger
# one washes thin arms and legs into the water (at 640, recall 88.7 % at 1.0, 90.5 % at 0.5).
BLUR_SIGMA = 0.5
# The water colour is the median of every 3rd pixel each way, at either width: sampling every
# 6th at 640 saved 0.8 ms a frame and cost the club session (3000 frames, the same enrolment)
# 0.6 pp of identity and 14 more tracks on swimmers.
REFERENCE_STEP = 3
NOMINAL_LANES = 8  # sizes the morphology when lane-aware splitting is off (lanes = 0)
CORE_FRAC = 0.32  # a blob needs a solid square this fraction of a swimmer's width to count
# A blob holding two solid cores of at least SPLIT_CORE_SHARE of a swimmer's width squared, in
# parts each at least SPLIT_PART_LENGTH swimmer widths long, is two swimmers touching (a hand on
# the feet ahead, an arm across to one beside), cut between the cores. One swimmer's second
# core is a bit of it (a thigh, a head, a real crop's dark suit band), in a short part. On the
# club session (every 5th frame; layout 1 in brackets), of the blobs with two cores of 0.1:
# 339 (391) were two swimmers and 72 (44) one; at 0.15 and 1.75, 297 (366) and 9 (9) are cut;
# at 0.2 alone, 299 (366) and 20 (12).
SPLIT_CORE_SHARE = 0.15
SPLIT_PART_LENGTH = 1.75
# Closing kernel (processing pixels, width x height): fills a swimmer's water-coloured holes
# and joins body parts split along the lane (a blue suit between cap and legs). Taller, it
# joins more than that: at 640, recall 87.2 % at 11 tall, 90.5 % at 7.
CLOSE_SIZE = (3, 7)
MIN_WATER_LINE = 0.25  # a row/column with less water than this is deck or a rope
LOCAL_CELLS = 16  # the water's local colour is measured in square cells, this many across
LOCAL_MIN_SHARE = 0.5  # ...that are at least half water-hued; others take the frame's colour
DEEP_HUE_FRAC = 0.5  # darker water-like pixels must be this much closer in hue to count
# A swimmer's box reaches out to the pixels this fraction of the tolerances away from the water
# around its blob: arms and legs under a film of water.
FAINT_FRAC = 0.6
# ...unless that makes the box more than this many times the blob's box: a faint strip along a
# rope or the wall, or rippled water, joined to the swimmer (a swimmer's box became its lane).
FAINT_GROWTH = 4.0


class Detector(Protocol):
    """Swimmer boxes in one BGR frame, in frame pixels."""

    def detect(self, bgr: np.ndarray) -> list[Detection]: ...


@dataclass(frozen=True, eq=False)
class _Scene:
    """The pool geometry at the processing scale, made once per frame size."""

    shape: tuple[int, int]
    water: np.ndarray  # uint8 255 where to search
    everywhere: bool  # no polygon and no masks: skip the masking
    ropes: list[tuple[tuple[int, int], tuple[int, int]]]
    rope_width: int  # pixels cleared across each boundary
    lane_width: float  # mean, at mid-height; 0 = no lanes


class WaterDetector:
    """Swimmers as the blobs of a top-view pool that are not water-coloured, split at lanes."""

    def __init__(self, cfg: DetectorConfig, pool: PoolConfig | None = None) -> None:
        check_section(cfg)
        self.cfg = cfg
        self.pool = pool or PoolConfig()
        tolerance = np.array([cfg.water_hue_tol, cfg.water_sat_tol, cfg.water_val_tol], float)
        self._tolerance = tuple(tolerance.tolist())  # HSV, as cv2.inRange takes a bound
        self._faint_tolerance = tuple((FAINT_FRAC * tolerance).tolist())
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, CLOSE_SIZE)
        self._no_water = False  # for logging the change only, not every frame
        self._scene: _Scene | None = None
        self._sizes: dict[tuple[int, int], tuple[int, int]] = {}  # frame -> processing size

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        height, width = bgr.shape[:2]
        small = self._downscale(bgr)
        mask, faint = self.foreground(small)
        count, labels, stats, _ = _components(mask)
        size = self._core_size(small)
        core = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
        core_px = np.bincount(labels[core > 0], minlength=count)
        solid = core_px > 0
        total = small.shape[0] * small.shape[1]
        area = stats[:, cv2.CC_STAT_AREA] / total
        swimmers = np.flatnonzero(solid & (area >= self.cfg.min_area_frac)
                                  & (area <= self.cfg.max_area_frac))  # fmt: skip
        swimmers = swimmers[swimmers > 0]
        swimmer = self._swimmer_px(small)
        min_core, min_length = SPLIT_CORE_SHARE * swimmer**2, SPLIT_PART_LENGTH * swimmer
        parts = {}
        for blob in swimmers[core_px[swimmers] >= 2 * min_core]:
            if cut := _split_at_cores(stats, labels, core, blob, min_core, min_length):
                parts[blob] = cut
        whole = np.setdiff1d(swimmers, list(parts))
        boxes = _reach_out(stats, labels, whole, faint) + [b for p in parts.values() for b in p]
        sx, sy = width / small.shape[1], height / small.shape[0]
        return [Detection(Box(round(x * sx), round(y * sy), round(w * sx), round(h * sy))
                          .clip(width, height), 1.0) for x, y, w, h in boxes]  # fmt: skip

    def foreground(self, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The not-water masks (uint8 0/255) of a downscaled frame, ropes and deck cut away:
        by the configured tolerances, and by FAINT_FRAC of them (a swimmer's arms and legs
        under a film of water, its splash)."""
        scene = self.scene(small)
        hsv = cv2.cvtColor(cv2.GaussianBlur(small, (0, 0), BLUR_SIGMA), cv2.COLOR_BGR2HSV)
        reference = self.water_colour(hsv, None if scene.everywhere else scene.water)
        if reference is None:
            empty = np.zeros(hsv.shape[:2], np.uint8)
            return empty, empty
        water, faint = self._water(hsv, self.local_water(hsv, reference))
        # Rows and columns that are hardly water are deck or rope, never a swimmer's middle
        # (outside the configured water counts as water here: it is cleared below anyway).
        lines = water if scene.everywhere else water | cv2.bitwise_not(scene.water)
        rows = cv2.reduce(lines, 1, cv2.REDUCE_AVG).ravel() < MIN_WATER_LINE * 255
        columns = cv2.reduce(lines, 0, cv2.REDUCE_AVG).ravel() < MIN_WATER_LINE * 255
        masks = []
        bridge = self._core_size(small)
        for mask in (cv2.bitwise_not(water), cv2.bitwise_not(faint)):
            _clear_lines(mask, rows, columns, bridge)
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
            for start, end in scene.ropes:
                cv2.line(mask, start, end, 0, scene.rope_width)
            masks.append(mask if scene.everywhere else cv2.bitwise_and(mask, scene.water))
        return masks[0], masks[1]

    def _water(self, hsv: np.ndarray, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The water masks by the tolerances and by FAINT_FRAC of them: pixels that close to
        the local water colour (`local`, per cell), or darker but no less saturated with the
        water's own hue (shadow, floor line, deep water: at either tolerance)."""
        here = _spread(local, (hsv.shape[1], hsv.shape[0]))
        away = cv2.absdiff(hsv, here)
        hue = DEEP_HUE_FRAC * self.cfg.water_hue_tol  # (saturating uint8 sums: clipped bounds)
        deep = cv2.inRange(hsv, cv2.subtract(here, (hue, 0, 255, 0)),
                           cv2.add(here, (hue, 255, 0, 0)))  # fmt: skip
        water = cv2.inRange(away, (0, 0, 0), self._tolerance) | deep
        faint = cv2.inRange(away, (0, 0, 0), self._faint_tolerance) | deep
        return water, faint

    def scene(self, small: np.ndarray) -> _Scene:
        """The geometry at the processing scale (frames of one source keep one size)."""
        height, width = small.shape[:2]
        if self._scene is None or self._scene.shape != (height, width):
            pool = pool_geometry(self.cfg.lanes, self.pool, width, height)
            lane = pool.lane_width_at(height / 2)
            everywhere = not self.pool.water and not self.pool.masks
            self._scene = _Scene((height, width), pool.water_mask(width, height), everywhere,
                                 pool.segments(width, height), pool.rope_width, lane)  # fmt: skip
        return self._scene

    def water_colour(self, hsv: np.ndarray, where: np.ndarray | None = None) -> np.ndarray | None:
        """The median HSV colour (of the `where` mask's pixels, when given), or None (logged
        once) when that is not pool water."""
        step = slice(None, None, REFERENCE_STEP)
        # numpy's median by counting (edge/vision/colour.py); none of an empty sample (NaN)
        reference = channel_medians(hsv[step, step], None if where is None else where[step, step])
        hue, saturation = reference[0], reference[1]
        no_water = not (
            self.cfg.water_hue_min <= hue <= self.cfg.water_hue_max
            and saturation >= self.cfg.water_min_saturation
        )
        if no_water != self._no_water:
            self._no_water = no_water
            if no_water:
                log.warning("frame is not mostly water (median HSV %s): no detections", reference)
            else:
                log.info("water in view again (median HSV %s)", reference)
        return None if no_water else reference

    def local_water(self, hsv: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """The water's colour cell by cell (float HSV, rows x columns of cells): its hue is
        the frame's, its saturation and brightness the median over the water-hued pixels of
        the cell (`_spread` smooths them between cells at full size). Sun glare and shade
        change the water's saturation and brightness over large patches but keep its hue
        (mixing in white or black does not turn it), and swimmers are mostly other hues; a
        median, as a swimmer's pale edges share the water's hue. Cells with too few water-hued
        pixels take the frame's colour."""
        sample = hsv[::REFERENCE_STEP, ::REFERENCE_STEP].astype(np.float32)
        cell = max(1, round(hsv.shape[1] / LOCAL_CELLS / REFERENCE_STEP))
        rows, cols = max(1, sample.shape[0] // cell), max(1, sample.shape[1] // cell)
        grid = sample[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell, 3)
        grid = grid.swapaxes(1, 2).reshape(rows, cols, cell * cell, 3)
        hue_ok = np.abs(grid[..., 0] - reference[0]) <= self.cfg.water_hue_tol
        enough = hue_ok.mean(axis=-1) >= LOCAL_MIN_SHARE
        # The median of each cell's water-hued pixels: the others sorted past the end.
        sv = np.sort(np.where(hue_ok[..., None], grid[..., 1:], np.inf), axis=2)
        middle = np.maximum(hue_ok.sum(axis=-1) - 1, 0)[..., None, None] // 2
        median = np.take_along_axis(sv, np.broadcast_to(middle, (*middle.shape[:2], 1, 2)), 2)
        cells = np.where(enough[..., None], median[:, :, 0], reference[1:])
        hue = np.full((*cells.shape[:2], 1), reference[0])
        return np.concatenate([hue, cells], axis=-1)

    def _downscale(self, bgr: np.ndarray) -> np.ndarray:
        height, width = bgr.shape[:2]
        size = self._sizes.get((width, height))
        if size is None:
            lane = pool_geometry(self.cfg.lanes, self.pool, width, height).lane_width_at(height / 2)
            swimmer = self.cfg.swimmer_width * (lane / width if lane else 1 / NOMINAL_LANES)
            scaled = process_width(width, swimmer)
            size = self._sizes[width, height] = (scaled, max(1, round(height * scaled / width)))
        if size[0] == width:
            return bgr
        return cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR)

    def _swimmer_px(self, small: np.ndarray) -> float:
        lane = self.scene(small).lane_width or small.shape[1] / NOMINAL_LANES
        return self.cfg.swimmer_width * lane

    def _core_size(self, small: np.ndarray) -> int:
        return max(3, round(CORE_FRAC * self._swimmer_px(small)))


def _reach_out(
    stats: np.ndarray, labels: np.ndarray, swimmers: np.ndarray, faint: np.ndarray
) -> list[tuple[int, int, int, int]]:
    """Each swimmer blob's box (x, y, w, h), grown to the faint blob around it when that holds
    no other blob: the arms and legs a film of water pales, which the water's tolerances
    leave out. A faint blob that joins the swimmer to another blob (a swimmer close behind, a
    strip of rope too thin to count) grows nothing, nor does one whose box is over FAINT_GROWTH
    times the swimmer's. The faint mask holds the other, so each blob lies in one faint blob."""
    _, faint_labels, faint_stats, _ = _components(faint)
    inside = labels > 0
    around = np.zeros(len(stats), int)
    around[labels[inside]] = faint_labels[inside]
    shared = Counter(around[1:])
    boxes = []
    for label in swimmers:
        x, y, w, h = (int(v) for v in stats[label, :4])
        fx, fy, fw, fh = (int(v) for v in faint_stats[around[label], :4])
        if shared[around[label]] == 1 and fw * fh <= FAINT_GROWTH * w * h:
            x0, y0 = min(x, fx), min(y, fy)
            x, y, w, h = x0, y0, max(x + w, fx + fw) - x0, max(y + h, fy + fh) - y0
        boxes.append((x, y, w, h))
    return boxes


def _split_at_cores(
    stats: np.ndarray,
    labels: np.ndarray,
    core: np.ndarray,
    blob: int,
    min_core: float,
    min_length: float,
) -> list[tuple[int, int, int, int]]:
    """The boxes (x, y, w, h) of blob `blob`'s parts, each pixel going to the nearest of its
    cores of `min_core` pixels or more, when there are two or more and every part is
    `min_length` pixels long; else []. The erosion that makes the cores cuts the thin link (a
    hand, an arm) between two swimmers."""
    x, y, w, h = (int(v) for v in stats[blob, :4])
    pixels = labels[y : y + h, x : x + w] == blob
    _, cores, areas, _ = _components((pixels & (core[y : y + h, x : x + w] > 0)).astype(np.uint8))
    large = np.flatnonzero(areas[1:, cv2.CC_STAT_AREA] >= min_core) + 1
    if len(large) < 2:
        return []
    parts = _nearest_parts(pixels, np.where(np.isin(cores, large), cores, 0))
    if min(max(pw, ph) for _, _, pw, ph in parts) < min_length:
        return []
    return [(x + px, y + py, pw, ph) for px, py, pw, ph in parts]


def _nearest_parts(blob: np.ndarray, seeds: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The boxes of `blob`'s pixels grouped by their nearest seed (`seeds`: a label per pixel,
    0 where none)."""
    _, nearest = cv2.distanceTransformWithLabels(
        np.where(seeds > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 3,
        labelType=cv2.DIST_LABEL_PIXEL,
    )  # fmt: skip
    seed_of = np.zeros(nearest.max() + 1, seeds.dtype)  # a seed pixel's own label -> its seed
    seed_of[nearest[seeds > 0]] = seeds[seeds > 0]
    owner = seed_of[nearest]
    return [cv2.boundingRect((blob & (owner == seed)).astype(np.uint8))
            for seed in np.unique(seeds[seeds > 0])]  # fmt: skip


def _clear_lines(mask: np.ndarray, rows: np.ndarray, columns: np.ndarray, bridge: int) -> None:
    """Clear `rows` and `columns` of `mask` in place, but not under a swimmer lying across a
    thin one: a floor line along the lane is under the swimmer most of a length, and cleared
    through it, it cut the swimmer in two halves too thin to count. Gaps narrower than
    `bridge` with the swimmer on both sides are filled back; the deck and a rope beside a
    swimmer have no foreground across them, so they stay cleared."""
    mask[rows, :] = 0
    mask[:, columns] = 0
    if columns.any():
        mask[:, columns] = _closed(mask, (bridge, 1))[:, columns]
    if rows.any():
        mask[rows, :] = _closed(mask, (1, bridge))[rows, :]


def _closed(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`mask` closed with a rectangle of `size` (width, height): gaps narrower filled."""
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, size))


def _components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components with stats, by BBDT: on one thread (the daemon's) 0.35 ms a
    640x360 mask against 0.9 ms for OpenCV's default (Spaghetti) with stats, same labels."""
    return cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)


def _spread(cells: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Per-cell HSV colours as a uint8 image of `size` (width, height), smoothed between cells."""
    small = np.clip(cells, 0, 255).astype(np.uint8)
    return cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)


def process_width(frame_width: int, swimmer: float) -> int:
    """The width to segment a frame at, for a swimmer `swimmer` of the frame's width across:
    the first of PROCESS_WIDTHS where it is MIN_SWIMMER_PX, else the last; never upscaled."""
    width = next((w for w in PROCESS_WIDTHS if swimmer * w >= MIN_SWIMMER_PX), PROCESS_WIDTHS[-1])
    return min(width, frame_width)


ROLES = ("boxes", "classes", "scores", "count")
ROLE_HINTS = {
    "boxes": ("box",),
    "classes": ("class",),
    "scores": ("score",),
    "count": ("num", "count"),
}


class SsdDetector:
    """A TFLite SSD-style detection model; keeps class `cfg.model_class` above `cfg.min_score`."""

    def __init__(self, cfg: DetectorConfig) -> None:
        check_section(cfg)
        self.cfg = cfg
        self.interpreter = make_interpreter(cfg.model, threads=1)
        self._input = self.interpreter.get_input_details()[0]
        shape = tuple(self._input["shape"])
        if len(shape) != 4 or shape[3] != 3:
            raise ModelError(f"{cfg.model}: expected an input [1,H,W,3], got {list(shape)}")
        self._size = (int(shape[2]), int(shape[1]))  # cv2 wants (width, height)
        self._outputs = _output_roles(self.interpreter, cfg.model)

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        height, width = bgr.shape[:2]
        rgb = cv2.cvtColor(cv2.resize(bgr, self._size), cv2.COLOR_BGR2RGB)
        self.interpreter.set_tensor(self._input["index"], self._to_input(rgb)[None])
        self.interpreter.invoke()
        out = {role: _dequantized(self.interpreter, d) for role, d in self._outputs.items()}
        boxes = out["boxes"].reshape(-1, 4)
        classes, scores = out["classes"].reshape(-1), out["scores"].reshape(-1)
        count = min(int(out["count"].reshape(-1)[0]), len(boxes), len(scores))
        detections = []
        for i in range(count):
            if scores[i] < self.cfg.min_score or round(classes[i]) != self.cfg.model_class:
                continue
            y0, x0, y1, x1 = np.clip(boxes[i], 0.0, 1.0)
            box = Box(round(x0 * width), round(y0 * height), 0, 0)
            box = Box(box.x, box.y, round(x1 * width) - box.x, round(y1 * height) - box.y)
            if box.area > 0:
                detections.append(Detection(box, float(scores[i])))
        return detections

    def _to_input(self, rgb: np.ndarray) -> np.ndarray:
        """Pixels as the model wants them: (p - mean) / std, quantized if the input is."""
        dtype = self._input["dtype"]
        real = (rgb.astype(np.float32) - self.cfg.input_mean) / self.cfg.input_std
        if dtype == np.float32:
            return real
        scale, zero_point = self._input["quantization"]
        if not scale:
            return (
                rgb.astype(dtype)
                if dtype == np.uint8
                else (rgb.astype(np.int16) - 128).astype(dtype)
            )
        info = np.iinfo(dtype)
        return np.clip(np.round(real / scale + zero_point), info.min, info.max).astype(dtype)


def _dequantized(interpreter: Any, detail: dict[str, Any]) -> np.ndarray:
    value = interpreter.get_tensor(detail["index"])
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if scale and value.dtype != np.float32:
        return (value.astype(np.float32) - zero_point) * scale
    return value.astype(np.float32)


def _output_roles(interpreter: Any, model: str) -> dict[str, dict[str, Any]]:
    """Which output is boxes/classes/scores/count: by name when the names say, else by shape.

    Names come from the model's signature (TF2 exports: detection_boxes, ...) or the tensors.
    Without telling names, boxes are the [1,N,4] output, count the one-element one, and the
    two [1,N] outputs are classes then scores, TFLite_Detection_PostProcess's order, taken by
    name (":1" before ":2", "output_1" before "output_2"): the runtime lists outputs shuffled.
    """
    details = interpreter.get_output_details()
    if len(details) != 4:
        raise ModelError(f"{model}: expected 4 SSD outputs (boxes, classes, scores, count)")
    names = {d["index"]: d["name"].lower() for d in details}
    names.update(_signature_names(interpreter))
    by_name = {}
    for role in ROLES:
        hits = [d for d in details if any(h in names[d["index"]] for h in ROLE_HINTS[role])]
        if len(hits) == 1:
            by_name[role] = hits[0]
    if len({id(d) for d in by_name.values()}) == 4:
        return by_name
    boxes = [d for d in details if len(d["shape"]) == 3 and d["shape"][-1] == 4]
    count = [d for d in details if int(np.prod(d["shape"])) == 1]
    rest = sorted(
        (d for d in details if d not in boxes and d not in count), key=lambda d: names[d["index"]]
    )
    if len(boxes) != 1 or len(count) != 1 or len(rest) != 2:
        shapes = [list(d["shape"]) for d in details]
        raise ModelError(f"{model}: outputs {shapes} are not SSD boxes/classes/scores/count")
    return {"boxes": boxes[0], "classes": rest[0], "scores": rest[1], "count": count[0]}


def _signature_names(interpreter: Any) -> dict[int, str]:
    """Tensor index -> signature output name, when the model has exactly one signature."""
    try:
        signatures = interpreter.get_signature_list()
        if len(signatures) != 1:
            return {}
        runner = interpreter.get_signature_runner(next(iter(signatures)))
        return {d["index"]: name.lower() for name, d in runner.get_output_details().items()}
    except (AttributeError, ValueError, RuntimeError):
        return {}


def make_detector(cfg: DetectorConfig, pool: PoolConfig | None = None) -> Detector:
    """The detector `cfg.kind` names (the water detector searches `pool`'s water); ConfigError
    listing the valid kinds otherwise."""
    if cfg.kind == "water":
        return WaterDetector(cfg, pool)
    if cfg.kind == "tflite":
        return SsdDetector(cfg)
    raise ConfigError(f"detector.kind: {cfg.kind!r} is not one of water, tflite")
