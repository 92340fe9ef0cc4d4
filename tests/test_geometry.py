"""Pool geometry: lanes under perspective, the water polygon and masks, equal columns as before."""

from __future__ import annotations

import numpy as np
import pytest

from edge.geometry import PoolGeometry
from edge.types import Box

WIDTH, HEIGHT = 1280, 720
# Four lanes seen from a pole at the near (bottom) end: they converge towards the top.
CONVERGING = [[[0.30 + 0.1 * k, 0.0], [0.10 + 0.2 * k, 1.0]] for k in range(5)]


def perspective() -> PoolGeometry:
    return PoolGeometry.from_config(WIDTH, HEIGHT, lanes=0, lane_lines=CONVERGING)


@pytest.mark.parametrize(
    ("x", "y", "lane"),
    [
        (0.35, 0.02, 1),  # far end: lane 1 is 0.30..0.40 wide
        (0.45, 0.02, 2),
        (0.65, 0.02, 4),
        (0.25, 0.02, 0),  # left of the pool at the far end...
        (0.25, 0.98, 1),  # ...but inside lane 1 at the near end
        (0.55, 0.98, 3),  # near end: lane 3 is 0.50..0.70
        (0.95, 0.98, 0),
        (0.45, 0.50, 2),  # half way: lane 2 is 0.35..0.50
    ],
)
def test_lanes_converge_with_perspective(x: float, y: float, lane: int) -> None:
    assert perspective().lane_at(x * WIDTH, y * HEIGHT) == lane


def test_lane_width_follows_the_perspective() -> None:
    pool = perspective()
    assert pool.lanes == 4
    assert pool.lane_width_at(0) == pytest.approx(0.1 * WIDTH)
    assert pool.lane_width_at(HEIGHT) == pytest.approx(0.2 * WIDTH)


@pytest.mark.parametrize("lanes", [1, 6, 8])
def test_equal_columns_number_lanes_from_the_left(lanes: int) -> None:
    pool = PoolGeometry.from_config(WIDTH, HEIGHT, lanes)
    for x in range(0, WIDTH, 37):
        box = Box(x, 300, 1, 10)
        assert pool.lane_of(box) == min(lanes, int(box.center[0] / (WIDTH / lanes)) + 1)


def test_no_lanes_is_lane_zero() -> None:
    assert PoolGeometry.from_config(WIDTH, HEIGHT, 0).lane_of(Box(600, 300, 10, 10)) == 0


def test_the_water_is_the_polygon_less_the_masks() -> None:
    water = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
    clock = [[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6]]
    pool = PoolGeometry.from_config(WIDTH, HEIGHT, 8, water=water, masks=[clock])
    mask = pool.water_mask(320, 180)
    assert mask.shape == (180, 320)
    assert mask[5, 5] == 0 and mask[30, 40] == 255 and mask[90, 160] == 0
    share = np.count_nonzero(mask) / mask.size
    assert share == pytest.approx(0.8 * 0.8 - 0.2 * 0.2, abs=0.02)


def test_without_a_polygon_the_whole_frame_is_water() -> None:
    assert PoolGeometry.from_config(WIDTH, HEIGHT, 8).water_mask(32, 18).min() == 255


def test_the_lane_map_numbers_lanes_and_leaves_out_ropes_and_the_outside() -> None:
    pool = perspective()
    lanes = pool.lane_map
    assert lanes.shape == (HEIGHT, WIDTH)
    for x, y in [(0.35, 0.02), (0.45, 0.02), (0.25, 0.98), (0.55, 0.98), (0.45, 0.5)]:
        assert lanes[int(y * HEIGHT), int(x * WIDTH)] == pool.lane_at(x * WIDTH, y * HEIGHT) > 0
    at_half = int(0.5 * HEIGHT)
    rope = int((0.2 + 0.15 * 2) * WIDTH)  # boundary 2 crosses the middle height there
    assert lanes[at_half, rope] == 0 and lanes[at_half, rope - 20] == 2
    assert lanes[at_half, int(0.05 * WIDTH)] == 0  # left of the pool
    assert PoolGeometry.from_config(WIDTH, HEIGHT, 0).lane_map is None
