"""The pool simulator: a readable video, truth boxes where the swimmers are, inside their lanes."""

from __future__ import annotations

import json
from itertools import pairwise

import cv2
import numpy as np
import pytest

from train.errors import DataError, TrainError
from train.poollayout import SIDE, Pool, Swimmer, swim_paths
from train.poolpaint import load_crop, swimmer_box
from train.poolsim import iter_pool, main, sequences_from_folder, simulate_pool, under_water

WIDTH, HEIGHT, LANES, FRAMES = 640, 360, 6, 30


@pytest.fixture(scope="module")
def sequences(synthetic_data):
    return sequences_from_folder(synthetic_data)


@pytest.fixture(scope="module")
def pool(sequences, tmp_path_factory):
    out = tmp_path_factory.mktemp("pool")
    video = simulate_pool(
        sequences, out / "pool.mp4", out / "truth.json", FRAMES, WIDTH, HEIGHT, LANES, seed=1
    )
    return video, json.loads((out / "truth.json").read_text())


def _water(bgr: np.ndarray) -> np.ndarray:
    """The test's own idea of pool water: blue/cyan, saturated, not dark."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    return (hsv[..., 0] >= 85) & (hsv[..., 0] <= 115) & (hsv[..., 1] > 80) & (hsv[..., 2] > 100)


def test_video_opens_with_the_right_frames_and_size(pool):
    video, _ = pool
    capture = cv2.VideoCapture(str(video))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    assert len(frames) == FRAMES
    assert frames[0].shape == (HEIGHT, WIDTH, 3)
    assert _water(frames[0]).mean() > 0.6  # mostly blue water


def test_truth_describes_every_frame_and_swimmer(pool, sequences):
    _, truth = pool
    assert (truth["width"], truth["height"], truth["lanes"], truth["fps"]) == (640, 360, 6, 25)
    assert [f["index"] for f in truth["frames"]] == list(range(FRAMES))
    lane_width = WIDTH / LANES
    for frame in truth["frames"]:
        lanes = [s["lane"] for s in frame["swimmers"]]
        assert len(lanes) == len(set(lanes)) == len(sequences)  # one swimmer per lane
        for swimmer in frame["swimmers"]:
            x, y, w, h = swimmer["box"]
            assert swimmer["identity"] in sequences
            assert x >= 0 and y >= 0 and x + w <= WIDTH and y + h <= HEIGHT and w > 0 and h > 0
            left = swimmer["lane"] * lane_width
            assert left <= x and x + w <= left + lane_width


def test_swimmers_turn_only_at_the_ends(pool):
    _, truth = pool
    headings = {}
    for frame in truth["frames"]:
        for swimmer in frame["swimmers"]:
            previous = headings.get(swimmer["identity"])
            _, y, _, h = swimmer["crop_box"]
            if previous is not None and previous != swimmer["heading"]:
                assert y < 0.1 * HEIGHT or y + h > 0.9 * HEIGHT
            headings[swimmer["identity"]] = swimmer["heading"]


def test_truth_boxes_are_where_the_non_water_pixels_are(sequences):
    lane_width = WIDTH / LANES
    for bgr, entry in iter_pool(sequences, 6, WIDTH, HEIGHT, LANES, seed=2):
        solid = ~_water(bgr)
        for boundary in range(LANES + 1):  # the ropes are not swimmers
            centre = round(boundary * lane_width)
            solid[:, max(0, centre - 3) : centre + 3] = False
        for swimmer in entry["swimmers"]:
            x, y, w, h = swimmer["box"]
            inside = solid[y : y + h, x : x + w]
            lane = solid[
                :, round(swimmer["lane"] * lane_width) : round((swimmer["lane"] + 1) * lane_width)
            ]
            assert inside.sum() >= 0.7 * lane.sum()  # most of the lane's non-water is in the box
            assert inside.mean() > 3 * lane.mean()  # and the box is denser than the lane


def test_same_seed_same_pool(sequences):
    first = list(iter_pool(sequences, 4, 320, 180, 5, seed=3))
    again = list(iter_pool(sequences, 4, 320, 180, 5, seed=3))
    other = list(iter_pool(sequences, 4, 320, 180, 5, seed=4))
    assert all(
        np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(first, again, strict=True)
    )
    assert not np.array_equal(first[0][0], other[0][0])


def test_swimmers_can_enter_and_leave(sequences):
    counts = [
        len(e["swimmers"]) for _, e in iter_pool(sequences, 150, 320, 180, 5, enter_leave=True)
    ]
    assert counts[0] < len(sequences) and max(counts) == len(sequences) and counts[-1] < max(counts)


def test_two_per_lane_fits_more_swimmers_than_lanes(sequences):
    _, entry = next(iter_pool(sequences, 1, 640, 360, 3, max_per_lane=2))
    assert len(entry["swimmers"]) == len(sequences)
    with pytest.raises(TrainError, match="do not fit"):
        next(iter_pool(sequences, 1, 640, 360, 3))


def test_a_pole_camera_sees_the_lanes_converge(sequences, tmp_path):
    simulate_pool(sequences, tmp_path / "pole.avi", tmp_path / "truth.json", 5, WIDTH, HEIGHT,
                  LANES, seed=1, perspective=0.5)  # fmt: skip
    truth = json.loads((tmp_path / "truth.json").read_text())
    lines = truth["lane_lines"]
    assert len(lines) == LANES + 1 and lines[0] == [[0.25, 0.0], [0.0, 1.0]]
    assert truth["water"] == [[0.25, 0.0], [0.75, 0.0], [1.0, 1.0], [0.0, 1.0]]
    for frame in truth["frames"]:
        for swimmer in frame["swimmers"]:
            x, y, w, h = swimmer["box"]
            assert min(x, y) >= 0 and x + w <= WIDTH and y + h <= HEIGHT and min(w, h) > 0
    with pytest.raises(TrainError, match="perspective"):
        next(iter_pool(sequences, 1, WIDTH, HEIGHT, LANES, perspective=0.9))


def test_unknown_video_suffix_is_refused(sequences, tmp_path):
    with pytest.raises(TrainError, match=r"\.mp4"):
        simulate_pool(sequences, tmp_path / "pool.mkv", tmp_path / "t.json", frames=2)


def test_cli_writes_video_and_truth(synthetic_data, tmp_path):
    args = ["--crops", str(synthetic_data), "--out", str(tmp_path / "p.avi")]
    args += ["--truth", str(tmp_path / "t.json"), "--frames", "3", "--width", "320"]
    assert main([*args, "--height", "180", "--lanes", "5"]) == 0
    assert len(json.loads((tmp_path / "t.json").read_text())["frames"]) == 3
    assert cv2.VideoCapture(str(tmp_path / "p.avi")).get(cv2.CAP_PROP_FRAME_COUNT) == 3


def test_cli_reports_a_missing_folder_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--crops", str(tmp_path / "nope"), "--out", "x.mp4", "--truth", "x.json"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_real_crops_swim_in_their_lanes(real_data):
    sequences = {k: v[:8] for k, v in sequences_from_folder(real_data).items()}
    lane_width = 1280 / 8
    for bgr, entry in iter_pool(sequences, 3, seed=5):
        assert len(entry["swimmers"]) == len(sequences)
        for swimmer in entry["swimmers"]:
            x, y, w, h = swimmer["box"]
            left = swimmer["lane"] * lane_width
            assert left <= x and x + w <= left + lane_width and y >= 0 and y + h <= 720
            assert (~_water(bgr[y : y + h, x : x + w])).mean() > 0.1  # real swimmers look watery


def test_after_a_turn_a_swimmer_is_under_water_for_a_while(sequences):
    frames = [e for _, e in iter_pool(sequences, 120, WIDTH, HEIGHT, LANES, seed=1, submerged=20)]
    turned = 0
    for identity in sequences:
        seen = [(f["index"], s["heading"]) for f in frames for s in f["swimmers"]
                if s["identity"] == identity]  # fmt: skip
        for (a, up), (b, later) in pairwise(seen):
            assert b - a in (1, 21), (identity, a, b)  # gone for exactly 20 frames, or not at all
            turned += b - a == 21 and up != later  # ...and only at a turn
    assert turned >= 1


def test_circle_swimming_keeps_right_within_the_lane(sequences):
    """Several to a lane: down the frame on the lane's left, back up on its right (away from the
    walls, where they cross over), and never outside the lane."""
    lanes, width, height = 2, 640, 720
    lane_width = width / lanes
    frames = [e for _, e in iter_pool(sequences, 300, width, height, lanes, seed=3,
                                      max_per_lane=3)]  # fmt: skip
    kept_right = midway = 0
    for swimmer in (s for f in frames for s in f["swimmers"]):
        x, y, w, h = swimmer["crop_box"]
        left = swimmer["lane"] * lane_width
        assert left <= x and x + w <= left + lane_width
        if height / 3 < y + h / 2 < 2 * height / 3:
            side = x + w / 2 - (left + lane_width / 2)  # from the lane's centre
            kept_right += (side < 0) == (swimmer["heading"] == "down")
            midway += 1
    assert sum(len(f["swimmers"]) for f in frames) == 300 * len(sequences)
    assert kept_right >= 0.85 * midway


def test_a_faster_swimmer_pulls_out_passes_and_moves_back():
    pool = Pool(640, 720, lanes=2, per_lane=2, swimmer_height=200)
    fast, slow = (Swimmer(name, (), 0, speed, 0, 0.0, 0, 10_000)
                  for name, speed in (("fast", 4.0), ("slow", 2.0)))  # fmt: skip
    paths = swim_paths([fast, slow], pool, 1500, np.random.default_rng(0))
    side = SIDE * pool.lane_width
    beside = 0.5 * pool.swimmer_height
    mid_pool = (beside, 0.98 * 720 - pool.swimmer_height - beside)  # (at a wall they cross over)
    abreast = [t for t, (f, s) in enumerate(zip(*paths, strict=True))
               if f.heading == s.heading and abs(f.top - s.top) < beside]  # fmt: skip
    assert abreast  # side by side, the same way...
    for t in abreast:
        if not all(mid_pool[0] < spot.top < mid_pool[1] for spot in (paths[0][t], paths[1][t])):
            continue
        fast_spot, slow_spot = paths[0][t], paths[1][t]
        assert abs(fast_spot.offset) < abs(slow_spot.offset)  # ...the faster one in the middle
    after = range(abreast[-1], abreast[-1] + 100)  # (it gains 2 px a frame)
    assert any(abs(abs(paths[0][t].offset) - side) < 1 for t in after)  # back to its side


@pytest.mark.parametrize("seed", range(4))
def test_three_to_a_lane_never_lie_on_one_another(seed):
    """Two faster swimmers catching a slower one: the second waits on the feet of the one ahead
    while the first is out in the middle, instead of passing on top of it. (Checked where a
    camera sees them: at a turn they glide under water, crossing the lane.)"""
    pool = Pool(640, 720, lanes=1, per_lane=3, swimmer_height=150)
    swimmers = [Swimmer(name, (), 0, speed, 0, 0.0, 0, 10_000)
                for name, speed in (("slow", 2.0), ("quick", 3.0), ("quicker", 3.3))]  # fmt: skip
    paths = [
        under_water(p, 25) for p in swim_paths(swimmers, pool, 3000, np.random.default_rng(seed))
    ]
    in_line = SIDE * pool.lane_width
    for t in range(3000):
        spots = [p[t] for p in paths if p[t] is not None]
        for k, a in enumerate(spots):
            for b in spots[k + 1 :]:
                apart = abs(a.top - b.top)
                on_top = abs(a.offset - b.offset) < in_line and apart < 0.75 * pool.swimmer_height
                assert not (on_top and a.heading == b.heading), (t, a, b)


def test_glare_whitens_part_of_the_water(sequences):
    plain = next(iter_pool(sequences, 1, WIDTH, HEIGHT, LANES, seed=1))[0]
    glared = next(iter_pool(sequences, 1, WIDTH, HEIGHT, LANES, seed=1, glare=True))[0]
    washed = (
        cv2.cvtColor(glared, cv2.COLOR_BGR2HSV)[..., 1]
        < 0.5 * cv2.cvtColor(plain, cv2.COLOR_BGR2HSV)[..., 1]
    )
    assert 0.02 < washed.mean() < 0.5


def test_a_real_crops_floor_line_is_not_part_of_the_swimmer():
    """A crop filmed over the pool's dark floor line: the line is the water's hue, darker, and
    touches the swimmer; the truth box is the swimmer's alone."""
    water = np.array([208, 166, 56], np.float32)  # BGR
    crop = np.tile(water, (280, 180, 1))
    crop[:, 100:114] = water * 0.5  # the floor line: same hue and saturation, darker
    crop[60:220, 62:100] = (110, 150, 205)  # skin
    x, y, w, h = swimmer_box(crop.astype(np.uint8))
    # (blurred edges mix skin and line for a few px; the line's far edge is at 114)
    assert abs(x - 62) <= 3 and abs(x + w - 100) <= 6 and abs(y - 60) <= 3 and abs(h - 160) <= 6


def test_drawn_body_boxes_are_scaled_to_the_pasted_crop(synthetic_data):
    folder = synthetic_data / "1"
    drawn = json.loads((folder / "boxes.json").read_text())["frame_1.jpg"]
    bgr, box = load_crop(folder / "frame_1.jpg", 90, 140)
    assert bgr.shape == (140, 90, 3)
    assert box == tuple(round(v / 2) for v in drawn)


def test_a_broken_boxes_file_is_a_one_line_error(synthetic_data, tmp_path):
    folder = tmp_path / "7"
    folder.mkdir()
    (folder / "frame_1.jpg").write_bytes((synthetic_data / "1" / "frame_1.jpg").read_bytes())
    (folder / "boxes.json").write_text("[1, 2")
    with pytest.raises(DataError, match=r"boxes.json: not a boxes file") as error:
        load_crop(folder / "frame_1.jpg", 90, 140)
    assert "\n" not in str(error.value)


def test_hard_edges_paste_the_crops_as_they_are(sequences):
    """Blended, a crop fades into the pool towards its edges; with hard edges it is pasted as it
    is, its own water a rectangle in the pool's. Nothing outside the crops changes."""
    soft, truth = next(iter_pool(sequences, 1, WIDTH, HEIGHT, LANES, seed=1))
    hard, _ = next(iter_pool(sequences, 1, WIDTH, HEIGHT, LANES, seed=1, feather=False))
    inside = np.zeros(soft.shape[:2], bool)
    for swimmer in truth["swimmers"]:
        x, y, w, h = swimmer["crop_box"]
        inside[y : y + h, x : x + w] = True
    changed = (soft != hard).any(axis=2)
    assert not changed[~inside].any()
    assert changed[inside].mean() > 0.1
