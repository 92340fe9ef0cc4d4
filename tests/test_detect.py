"""Detectors: the water detector on pools drawn here, and a TFLite SSD model built here."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import DetectorConfig
from edge.errors import ConfigError, ModelError
from edge.types import Box
from edge.vision.detect import SsdDetector, WaterDetector, make_detector, process_width

W, H, LANES = 1280, 720, 8
LANE = W / LANES
WATER = (200, 150, 40)  # BGR: pool blue
SKIN, YELLOW, BLACK = (120, 160, 230), (60, 200, 240), (25, 25, 25)


def pool(
    width: int = W,
    height: int = H,
    lanes: int = LANES,
    floor_lines: bool = False,
    ropes: bool = True,
):
    image = np.empty((height, width, 3), np.uint8)
    image[:] = WATER
    lane = width / lanes
    if floor_lines:  # the dark line on the pool floor along each lane's middle
        for k in range(lanes):
            x = round((k + 0.5) * lane)
            cv2.rectangle(image, (x - 5, 40), (x + 5, height - 40), (90, 40, 10), -1)
    for k in range(lanes + 1 if ropes else 0):  # red and white rope floats at every boundary
        x = round(k * lane)
        cv2.rectangle(image, (x - 4, 0), (x + 4, height), (40, 40, 220), -1)
        for y in range(0, height, 30):
            cv2.rectangle(image, (x - 4, y), (x + 4, y + 12), (255, 255, 255), -1)
    return image


def swimmer(image: np.ndarray, cx: int, cy: int, suit=SKIN, scale: float = 1.0) -> Box:
    """Draw a swimmer from above (body and cap) and return its true box."""
    rx, ry, cap = round(20 * scale), round(55 * scale), round(13 * scale)
    cv2.ellipse(image, (cx, cy), (rx, ry), 0, 0, 360, suit, -1)
    cv2.circle(image, (cx, cy - ry + 5), cap, BLACK, -1)
    return Box(cx - rx, cy - ry + 5 - cap, 2 * rx + 1, ry + cap + (ry - 5) + 1)


def match(truth: list[Box], found: list[Box], min_iou: float) -> bool:
    return len(found) == len(truth) and all(max(t.iou(f) for f in found) >= min_iou for t in truth)


def test_finds_each_swimmer_in_its_lane() -> None:
    image = pool()
    truth = [
        swimmer(image, 80, 200),
        swimmer(image, round(2.5 * LANE), 500, YELLOW),
        swimmer(image, round(5.5 * LANE), 120, BLACK),
        swimmer(image, round(7.5 * LANE), 620, SKIN, scale=0.8),
    ]
    found = [d.box for d in WaterDetector(DetectorConfig()).detect(image)]
    assert match(truth, found, 0.7), (truth, found)


def test_small_swimmers_are_segmented_at_a_finer_scale() -> None:
    """A swimmer a fifth of a 1280 px frame's eighth (6 px at 320) is segmented at 640, one
    half a lane wide stays at 320, and a frame is never scaled up."""
    assert process_width(1280, 0.2 / LANES) == 640
    assert process_width(1280, 0.5 / LANES) == 320
    assert process_width(480, 0.2 / LANES) == 480
    assert process_width(1280, 0.01) == 640  # the finest there is


def test_splits_two_swimmers_touching_across_a_rope() -> None:
    image = pool()
    boundary = round(3 * LANE)
    left = swimmer(image, boundary - 18, 360)
    right = swimmer(image, boundary + 18, 380, YELLOW)
    found = sorted(
        (d.box for d in make_detector(DetectorConfig()).detect(image)), key=lambda b: b.x
    )
    assert len(found) == 2, found
    assert found[0].x + found[0].w <= boundary <= found[1].x
    assert left.clip(boundary, H).iou(found[0]) >= 0.5
    right_part = Box(boundary, right.y, right.x + right.w - boundary, right.h)
    assert right_part.iou(found[1]) >= 0.5


CLUB = DetectorConfig(swimmer_width=0.2)  # a club session's proportions: torso a fifth of a lane


@pytest.mark.parametrize("side_by_side", [False, True])
def test_two_lane_mates_touching_are_two_boxes(side_by_side: bool) -> None:
    """A swimmer's hands on the feet of the one ahead, or an arm across to one beside: one
    blob of two solid bodies, which is two swimmers, each its own box."""
    image = pool()
    x = round(2.5 * LANE)
    if side_by_side:
        first, second = (
            swimmer(image, x - 20, 360, scale=0.8),
            swimmer(image, x + 20, 380, YELLOW, 0.8),
        )
        cv2.line(image, (x - 10, 330), (x + 10, 330), SKIN, 6)
    else:
        first, second = swimmer(image, x, 250, scale=0.8), swimmer(image, x, 400, YELLOW, 0.8)
        cv2.line(image, (x, first.y + first.h - 5), (x, second.y + 5), SKIN, 6)
    found = [d.box for d in WaterDetector(CLUB).detect(image)]
    assert match([first, second], found, 0.6), found


@pytest.mark.parametrize("held", ["hand", "kickboard"])
def test_what_a_swimmer_holds_ahead_is_not_a_second_swimmer(held: str) -> None:
    """A hand at the end of a long thin arm is a small solid core (under SPLIT_CORE_SHARE of a
    swimmer's width squared); a kickboard a large one, in a part shorter than
    SPLIT_PART_LENGTH swimmers. Either stays in the swimmer's box."""
    image = pool()
    x = round(2.5 * LANE)
    body = swimmer(image, x, 400, scale=0.8)
    reach = 100 if held == "hand" else 20
    cv2.line(image, (x, body.y), (x, body.y - reach), SKIN, 6)
    if held == "hand":
        cv2.circle(image, (x, body.y - reach - 4), 8, SKIN, -1)
    else:
        cv2.rectangle(image, (x - 16, body.y - reach - 24), (x + 16, body.y - reach), YELLOW, -1)
    top = body.y - reach - (12 if held == "hand" else 24)
    found = [d.box for d in WaterDetector(CLUB).detect(image)]
    assert match([Box(body.x, top, body.w, body.y + body.h - top)], found, 0.7), found


def faint(saturation_drop: int) -> tuple[int, int, int]:
    """The water's colour washed paler by `saturation_drop` (an arm under a film of water)."""
    hsv = cv2.cvtColor(np.uint8([[WATER]]), cv2.COLOR_BGR2HSV)[0, 0].astype(int)
    hsv[1] -= saturation_drop
    return tuple(int(v) for v in cv2.cvtColor(np.uint8([[hsv]]), cv2.COLOR_HSV2BGR)[0, 0])


def test_arms_under_a_film_of_water_stay_in_the_swimmers_box() -> None:
    """Arms paler than the water by less than its tolerance (40) but more than the faint
    share of it reach 70 px ahead of the cap: the box reaches them. A pale patch with no
    swimmer in it is still water."""
    image = pool()
    body = swimmer(image, round(2.5 * LANE), 400)
    arm = faint(36)
    for dx in (-14, 14):
        cv2.line(image, (body.x + body.w // 2 + dx, body.y + 20), (body.x + body.w // 2 + dx,
                 body.y - 70), arm, 12)  # fmt: skip
    cv2.rectangle(image, (round(5.3 * LANE), 300), (round(5.7 * LANE), 420), arm, -1)
    reached = Box(body.x, body.y - 73, body.w, body.h + 73)
    found = [d.box for d in WaterDetector(DetectorConfig()).detect(image)]
    assert match([reached], found, 0.8), found


def test_a_faint_strip_the_length_of_the_lane_does_not_stretch_a_swimmers_box() -> None:
    """Pale water along the lane (a rope's shadow, a wall's edge) touching the swimmer is not
    its arms: a box that would grow past FAINT_GROWTH times the swimmer's stays the swimmer's."""
    image = pool()
    body = swimmer(image, round(2.5 * LANE), 400)
    cv2.rectangle(image, (body.x + body.w, 40), (body.x + body.w + 10, H - 40), faint(36), -1)
    found = [d.box for d in WaterDetector(DetectorConfig()).detect(image)]
    assert match([body], found, 0.7), found


def test_a_thin_strip_joined_by_faint_water_does_not_stretch_a_swimmers_box() -> None:
    """A dark strip too thin to be a swimmer (a rope's shadow, a real crop's floor line) lies
    beside the swimmer, pale water between them: the faint blob holds both, and the box stays
    the swimmer's."""
    image = pool()
    body = swimmer(image, round(2.5 * LANE), 400)
    right = body.x + body.w
    cv2.rectangle(image, (right, body.y), (right + 30, body.y + body.h), faint(36), -1)
    cv2.rectangle(image, (right + 30, body.y - 20), (right + 38, body.y + body.h), BLACK, -1)
    found = [d.box for d in WaterDetector(DetectorConfig()).detect(image)]
    assert match([body], found, 0.7), found


def test_the_lane_boundary_splits_even_where_no_rope_shows() -> None:
    image = pool(ropes=False)
    boundary = round(3 * LANE)
    swimmer(image, boundary - 18, 360)
    swimmer(image, boundary + 18, 380, YELLOW)
    assert len(WaterDetector(DetectorConfig()).detect(image)) == 2
    assert len(WaterDetector(DetectorConfig(lanes=0)).detect(image)) == 1


def test_ropes_floor_lines_splashes_and_deck_are_not_swimmers() -> None:
    image = pool(floor_lines=True)
    for x, y, r in [(300, 100, 4), (700, 600, 6), (1000, 300, 12), (500, 650, 15)]:
        cv2.circle(image, (x, y), r, (250, 250, 250), -1)  # splashes and foam
    x = round(1.5 * LANE)  # a wide dark floor marking: deeper blue is still water
    cv2.rectangle(image, (x - 18, 100), (x + 18, 620), (110, 60, 15), -1)
    image[:60] = (150, 160, 170)  # the deck at the far end
    image[-50:] = (150, 160, 170)
    assert WaterDetector(DetectorConfig()).detect(image) == []
    truth = [swimmer(image, round(4.5 * LANE), 360)]
    found = [d.box for d in WaterDetector(DetectorConfig()).detect(image)]
    assert match(truth, found, 0.7), found


def test_sun_glare_is_water_not_a_swimmer() -> None:
    """A patch of glare washes the water out towards white over a quarter of the pool but
    keeps its hue: the water's colour is measured locally, so only the swimmers are found,
    the one inside the glare included."""
    image = pool()
    truth = [swimmer(image, round(1.5 * LANE), 360), swimmer(image, round(5.5 * LANE), 300)]
    ys, xs = np.mgrid[0:H, 0:W]
    shape = ((xs - 5.5 * LANE) / 160.0) ** 2 + ((ys - 360) / 220.0) ** 2
    light = 0.7 * np.exp(-0.5 * shape)[..., None]
    glared = (image * (1 - light) + 255 * light).astype(np.uint8)
    found = [d.box for d in WaterDetector(DetectorConfig()).detect(glared)]
    assert match(truth, found, 0.5), found


def test_size_limits_come_from_the_config() -> None:
    image = pool()
    truth = [swimmer(image, round(1.5 * LANE), 300)]
    small_only = DetectorConfig(min_area_frac=0.0001, max_area_frac=0.001)
    assert WaterDetector(small_only).detect(image) == []
    assert match(truth, [d.box for d in WaterDetector(DetectorConfig()).detect(image)], 0.7)


def test_other_frame_sizes_and_lane_counts() -> None:
    image = pool(width=640, height=480, lanes=4)  # swimmers keep their size relative to a lane
    truth = [swimmer(image, 80, 240), swimmer(image, 400, 120, YELLOW)]
    detector = WaterDetector(DetectorConfig(lanes=4))
    assert match(truth, [d.box for d in detector.detect(image)], 0.6)
    tiny = pool(width=240, height=160, lanes=2)
    truth = [swimmer(tiny, 60, 80, scale=0.75)]
    found = [d.box for d in WaterDetector(DetectorConfig(lanes=2)).detect(tiny)]
    assert match(truth, found, 0.6), found


def test_bad_water_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="water_hue"):
        make_detector(DetectorConfig(water_hue_min=140, water_hue_max=100))
    with pytest.raises(ConfigError, match="min_area_frac"):
        make_detector(DetectorConfig(min_area_frac=0.1, max_area_frac=0.05))
    with pytest.raises(ConfigError, match="water, tflite"):
        make_detector(DetectorConfig(kind="yolo"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs a model"):
        make_detector(DetectorConfig(kind="tflite"))


# --- TFLite SSD -------------------------------------------------------------------------------

BOXES = [[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0], [0.3, 0.3, 0.3, 0.3], [0.5, 0.5, 0.9, 0.9]]
CLASSES = [0.0, 1.0, 0.0, 0.0]


def build_ssd(path: Path, named: bool, quantized: bool = False) -> Path:
    """A tiny TFLite model with SSD outputs; detection 0's score is the input's brightness.

    Detection 1 is another class, 2 has zero area, 3 lies beyond `count` (3): only 0 survives,
    and only when the frame is bright (scores are (mean((p - 127.5) / 127.5) + 1) / 2).
    """
    tf = pytest.importorskip("tensorflow")

    class Ssd(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 32, 48, 3], tf.float32)])
        def __call__(self, x):
            bright = (tf.reduce_mean(x) + 1.0) / 2.0
            zero = 0.0 * bright
            scores = tf.stack([bright, 0.95 + zero, 0.9 + zero, 0.99 + zero])[None]
            boxes = tf.constant([BOXES]) + zero
            classes = tf.constant([CLASSES]) + zero
            count = tf.constant([3.0]) + zero
            if named:
                return {
                    "detection_boxes": boxes,
                    "detection_classes": classes,
                    "detection_scores": scores,
                    "num_detections": count,
                }
            return boxes, classes, scores, count

    module = Ssd()
    function = module.__call__.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], module)
    if quantized:  # uint8 input and outputs, as Coral/edge SSD models ship
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [np.full((1, 32, 48, 3), v, np.float32)] for v in np.linspace(-1, 1, 8)
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    path.write_bytes(converter.convert())
    return path


@pytest.fixture(scope="module", params=[True, False], ids=["named", "positional"])
def ssd_model(request, tmp_path_factory) -> Path:
    return build_ssd(tmp_path_factory.mktemp("ssd") / "ssd.tflite", named=request.param)


def test_ssd_outputs_are_decoded(ssd_model: Path) -> None:
    detector = make_detector(DetectorConfig(kind="tflite", model=str(ssd_model)))
    assert isinstance(detector, SsdDetector)
    bright = np.full((100, 200, 3), 255, np.uint8)
    (only,) = detector.detect(bright)
    assert only.box == Box(40, 10, 80, 40)  # ymin,xmin,ymax,xmax 0.1,0.2,0.5,0.6 of 200x100
    assert only.score == pytest.approx(1.0, abs=1e-3)


def test_ssd_min_score_and_class_filter(ssd_model: Path) -> None:
    cfg = DetectorConfig(kind="tflite", model=str(ssd_model))
    dark = np.zeros((100, 200, 3), np.uint8)
    assert make_detector(cfg).detect(dark) == []  # detection 0 scores 0 on a black frame
    other_class = make_detector(replace(cfg, model_class=1)).detect(dark)
    assert [d.box for d in other_class] == [Box(0, 0, 200, 100)]
    assert other_class[0].score == pytest.approx(0.95)


def test_ssd_input_normalisation_follows_the_config(ssd_model: Path) -> None:
    grey = np.full((60, 60, 3), 100, np.uint8)
    cfg = DetectorConfig(kind="tflite", model=str(ssd_model), min_score=0.0)
    default = make_detector(cfg).detect(grey)[0].score  # (100 - 127.5) / 127.5 -> 0.392
    raw = make_detector(replace(cfg, input_mean=0.0, input_std=255.0)).detect(grey)[0].score
    assert default == pytest.approx((100 / 127.5) / 2, abs=1e-3)
    assert raw == pytest.approx((100 / 255 + 1) / 2, abs=1e-3)


def test_a_uint8_quantized_ssd_is_fed_and_read_through_its_quantization(tmp_path: Path) -> None:
    model = build_ssd(tmp_path / "ssd_uint8.tflite", named=True, quantized=True)
    detector = make_detector(DetectorConfig(kind="tflite", model=str(model)))
    assert detector.interpreter.get_input_details()[0]["dtype"] == np.uint8
    (only,) = detector.detect(np.full((100, 200, 3), 255, np.uint8))
    assert only.box == Box(40, 10, 80, 40)
    assert only.score == pytest.approx(1.0, abs=0.02)
    assert detector.detect(np.zeros((100, 200, 3), np.uint8)) == []
    # Pixels to [0, 1] instead: black is the model's 0.0, quantized to its zero point, not 0.
    cfg = DetectorConfig(kind="tflite", model=str(model), input_mean=0, input_std=255, min_score=0)
    black = make_detector(cfg).detect(np.zeros((100, 200, 3), np.uint8))
    assert black[0].score == pytest.approx(0.5, abs=0.02)


def test_not_an_ssd_model_is_a_model_error(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")

    class Plain(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
        def __call__(self, x):
            return tf.reduce_mean(x, axis=[1, 2])

    module = Plain()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module
    )
    (tmp_path / "plain.tflite").write_bytes(converter.convert())
    with pytest.raises(ModelError, match="4 SSD outputs"):
        make_detector(DetectorConfig(kind="tflite", model=str(tmp_path / "plain.tflite")))
    # A model file that is not there is the config's mistake, named by its key.
    with pytest.raises(ConfigError, match=r"detector\.model: no such file"):
        make_detector(DetectorConfig(kind="tflite", model=str(tmp_path / "missing.tflite")))


def test_water_colour_is_measured_not_assumed() -> None:
    image = pool()
    image[:] = (190, 170, 40)  # a greener, cyan pool: hue about 92 instead of 105
    for k in range(LANES + 1):
        cv2.line(image, (round(k * LANE), 0), (round(k * LANE), H), (220, 220, 220), 6)
    truth = [swimmer(image, round(3.5 * LANE), 300), swimmer(image, round(6.5 * LANE), 500)]
    found = [d.box for d in WaterDetector(DetectorConfig()).detect(image)]
    assert match(truth, found, 0.7), found


def test_a_frame_that_is_not_a_pool_gives_nothing_and_says_so_once(caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge.vision.detect")
    detector = WaterDetector(DetectorConfig())
    grey = np.full((H, W, 3), 128, np.uint8)
    swimmer(grey, 200, 300)
    assert detector.detect(grey) == [] and detector.detect(grey) == []
    assert caplog.text.count("not mostly water") == 1
    image = pool()
    swimmer(image, 80, 300)
    assert len(detector.detect(image)) == 1
    assert "water in view again" in caplog.text
