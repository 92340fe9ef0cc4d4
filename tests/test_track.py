"""Tracker: stable ids, tracks named from their mean descriptors, new/update/end events, lanes
respected."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from edge.config import TrackerConfig
from edge.errors import ConfigError
from edge.tracking.identity import name_tracks
from edge.tracking.lane_homes import HOME_AFTER
from edge.tracking.track import (
    FRESH_FRAMES,
    ORDER_WEIGHT,
    SEPARATE_AFTER,
    SETTLED_WEIGHT,
    TrackChange,
    Tracker,
    _centres_in,
    _touching,
    _Track,
    name_no_one,
)
from edge.types import Box, Detection

CFG = TrackerConfig(max_missed=3, min_iou=0.1, identity_frames=5, settle_crops=3)
SWIMMERS = ("A", "B", "C", "D")
THRESHOLD = 0.6
STRANGER = np.full(len(SWIMMERS), 0.5)  # equally like everyone, below the threshold


def looks(who: str | np.ndarray) -> np.ndarray:
    """A crop's descriptor: one enrolled swimmer's axis, or a given vector."""
    if isinstance(who, str):
        return np.eye(len(SWIMMERS))[SWIMMERS.index(who)]
    return np.asarray(who, float) / np.linalg.norm(who)


def namer(means: np.ndarray, holding: list[str | None], away: set[str], home: list[set[str]]):
    """The device's naming (edge/tracking/identity.py) against a gallery of one row per swimmer."""
    return name_tracks(means @ np.eye(len(SWIMMERS)), SWIMMERS, THRESHOLD, holding, away, home)


def at(x: int, y: int) -> Detection:
    return Detection(Box(x, y, 40, 100))


def tracker(cfg: TrackerConfig = CFG, lane_width: float = 0.0) -> Tracker:
    """With `lane_width`, lanes are equal columns that wide."""
    lanes = (lambda box: int(box.center[0] // lane_width)) if lane_width else None
    return Tracker(cfg, namer, lanes)


def new_tracks(changes: list[tuple[int, TrackChange]]) -> list[int]:
    return [c.track_id for _, c in changes if c.type == "new"]


def run(tracker: Tracker, frames: list[list[tuple[Detection, str | np.ndarray]]], start=0):
    """Feed frames of (detection, who it looks like); return (frame index, change) pairs."""
    out = []
    for index, frame in enumerate(frames, start):
        descriptors = np.array([looks(w) for _, w in frame]).reshape(len(frame), len(SWIMMERS))
        out += [(index, c) for c in tracker.update(index, [d for d, _ in frame], descriptors)]
    return out


def test_two_swimmers_keep_their_ids_and_end_when_gone() -> None:
    t = tracker()
    frames = [[(at(60, 100 + 8 * i), "A"), (at(380, 500 - 8 * i), "B")] for i in range(20)]
    changes = run(t, frames) + run(t, [[]] * 5, start=20)
    assert [(i, c.type, c.track_id, c.swimmer_id) for i, c in changes] == [
        (2, "new", 1, "A"),
        (2, "new", 2, "B"),
        (23, "end", 1, "A"),  # unseen in 20, 21, 22 (max_missed 3): ended in 23
        (23, "end", 2, "B"),
    ]
    assert changes[2][1].box == Box(60, 100 + 8 * 19, 40, 100)  # last seen place
    assert changes[0][1].score == pytest.approx(1.0)


def test_one_odd_crop_changes_nothing_but_a_run_of_them_does() -> None:
    t = tracker()
    crops = ["A"] * 5 + ["B"] + ["A"] * 2 + ["B"] * 5
    frames = [[(at(200, 100 + 5 * i), w)] for i, w in enumerate(crops)]
    changes = [(i, c.type, c.swimmer_id) for i, c in run(t, frames)]
    # The lone B at frame 5 changes nothing; the window at frame 9 is B,A,A,B,B: its mean is
    # nearer B, by more than the holding margin.
    assert changes == [(2, "new", "A"), (9, "update", "B")]


def test_two_tracks_claiming_one_swimmer_get_it_once() -> None:
    """A stranger who looks like A (in another lane) while A swims: A's own track, which looks
    more like A, keeps A; the stranger is unknown, though alone it would pass as A."""
    t = tracker()
    like_a = looks([0.8, 0.2, 0.0, 0.0])  # cosine 0.97 with A
    frames = [[(at(60, 100 + 5 * i), "A"), (at(700, 100 + 5 * i), like_a)] for i in range(6)]
    changes = [(c.type, c.track_id, c.swimmer_id) for _, c in run(t, frames)]
    assert changes == [("new", 1, "A"), ("new", 2, None)]
    alone = tracker()
    assert [c.swimmer_id for _, c in run(alone, [f[1:] for f in frames])] == ["A"]


def test_a_swimmer_who_leaves_and_comes_back_is_named_again() -> None:
    t = tracker()
    out = run(t, [[(at(60, 100 + 5 * i), "C")] for i in range(4)])
    out += run(t, [[]] * 4, start=4)  # gone: the track ends, C is free again
    out += run(t, [[(at(60, 600 - 5 * i), "C")] for i in range(4)], start=8)
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in out] == [
        ("new", 1, "C"),
        ("end", 1, "C"),
        ("new", 2, "C"),
    ]


def test_a_stranger_alone_is_unknown_and_scored_by_its_best_match() -> None:
    t = tracker()
    changes = run(t, [[(at(200, 100 + 5 * i), STRANGER)] for i in range(5)])
    assert [(c.type, c.swimmer_id) for _, c in changes] == [("new", None)]
    assert changes[0][1].score == pytest.approx(0.5)


def test_a_one_frame_splash_never_becomes_a_track() -> None:
    t = tracker()
    assert run(t, [[(at(600, 300), "C")]] + [[]] * 10) == []
    assert t.finish() == []


def test_finish_ends_announced_tracks_only() -> None:
    t = tracker()
    run(t, [[(at(60, 100 + 5 * i), "A")] for i in range(3)])
    run(t, [[(at(60, 115), "A"), (at(700, 400), "B")]], start=3)
    assert [(c.type, c.track_id, c.swimmer_id) for c in t.finish()] == [("end", 1, "A")]
    assert t.finish() == []


def test_a_track_does_not_jump_lanes() -> None:
    sideways = [[(at(135, 300), "A")], [(at(145, 305), "A")]]  # centres 155, 165
    in_lanes = tracker(TrackerConfig(settle_crops=1), lane_width=160)
    assert new_tracks(run(in_lanes, sideways)) == [1, 2]
    anywhere = tracker(TrackerConfig(settle_crops=1))
    assert new_tracks(run(anywhere, sideways)) == [1]


def test_swimmers_passing_in_neighbour_lanes_keep_their_ids() -> None:
    t = tracker(CFG, lane_width=160)
    frames = [[(at(110, 100 + 20 * i), "A"), (at(170, 500 - 20 * i), "B")] for i in range(21)]
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in run(t, frames)] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
    ]
    assert {c.track_id: c.box.y for c in t.finish()} == {1: 500, 2: 100}


def test_lookalikes_in_two_lanes_keep_their_names_when_the_light_makes_each_look_like_the_other(
) -> None:  # fmt: skip
    """After HOME_AFTER frames named in their lanes, A and B (lanes 0 and 1) each look a little
    more like the other (cosine 0.72 against 0.69): more than the holding margin, less than it
    and the home margin together. With lanes unknown, the names swap."""
    swim = [(60, 100, "A", [0.69, 0.72, 0, 0]), (380, 500, "B", [0.72, 0.69, 0, 0])]
    frames = [[(at(x, y + i), who if i < HOME_AFTER + 10 else dim)
               for x, y, who, dim in swim] for i in range(HOME_AFTER + 40)]  # fmt: skip
    for lanes, names in ((320, ["A", "B"]), (0, ["B", "A"])):
        t = tracker(CFG, lane_width=lanes)
        run(t, frames)
        assert [v.swimmer_id for v in sorted(t.visible, key=lambda v: v.box.x)] == names


def test_lane_mates_passing_in_sight_keep_their_tracks_when_a_crop_looks_like_the_other() -> None:
    """Both boxes overlap both predictions where A and B pass (the look must settle it), and
    there each crop looks a little more like the other swimmer: a single crop's noise. Where
    each was heading decides (MOTION_WEIGHT); by look alone the tracks would swap."""
    t = tracker()
    frames = []
    for i in range(21):
        crossing = 9 <= i <= 11
        a = looks([0.70, 0.71, 0, 0]) if crossing else "A"
        b = looks([0.71, 0.70, 0, 0]) if crossing else "B"
        frames.append([(at(100, 100 + 20 * i), a), (at(130, 500 - 20 * i), b)])
    changes = run(t, frames)
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in changes][:2] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
    ]
    assert {c.track_id: (c.box.y, c.swimmer_id) for c in t.finish()} == {
        1: (500, "A"),
        2: (100, "B"),
    }


@pytest.mark.parametrize(
    "own, other",
    [
        # A lookalike pair, a splash: where each was heading outweighs a cosine of 0.05
        # (MOTION_WEIGHT); at half the weight the tracks swapped for the three frames of the pass.
        (0.68, 0.73),
        # A and B pass 30 px apart across the lane in boxes 40 px wide: a box a body's width to
        # the side is as far off its way as one a body's length ahead (`_apart`). Counted in
        # lengths alone, the 30 px sideways cost 0.06, less than this cosine of 0.11, and the
        # tracks swapped.
        (0.65, 0.76),
    ],
)
def test_lane_mates_passing_hold_their_tracks_though_crops_look_crossed(
    own: float, other: float
) -> None:
    """Where A and B pass side by side, each crop looks like the other swimmer (cosine `other`
    against `own`): each track stays on its swimmer in every frame."""
    t = tracker()
    held = []  # per frame: where track 1's box is, across the lane
    for i in range(21):
        crossing = 9 <= i <= 11
        a = looks([own, other, 0, 0]) if crossing else "A"
        b = looks([other, own, 0, 0]) if crossing else "B"
        run(t, [[(at(100, 100 + 20 * i), a), (at(130, 500 - 20 * i), b)]], start=i)
        held += [v.box.x for v in t.visible if v.track_id == 1]
    assert held == [100] * (21 - CFG.settle_crops + 1)


def test_a_track_back_from_under_water_does_not_take_a_followed_swimmers_box() -> None:
    """A turns at a wall: its box shrinks where it was predicted (no longer followed by
    overlap) and its crop looks more like B (0.30) than like A (0.19). B went under nearby
    and waits, predicted 63 px from that box: by look alone B's track would take A's box.
    B's track pays for the distance from its prediction that A's does not (MOTION_WEIGHT
    from the other side), and A keeps its box."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    a = [(at(60, 100 + 6 * i), "A") for i in range(15)]
    b = [(at(120, 290 - 6 * i), "B") if i < 6 else None for i in range(15)]
    run(t, [[d for d in pair if d is not None] for pair in zip(a, b, strict=True)])
    turning = Detection(Box(70, 233, 20, 15))
    run(t, [[(turning, looks([0.19, 0.30, 0.93, 0.0]))]], start=15)
    assert [(v.track_id, v.swimmer_id) for v in t.visible] == [(1, "A")]


def test_a_fast_swimmer_is_followed_by_its_centroid() -> None:
    t = tracker()
    frames = [[(at(300, 50 + 90 * i), "D")] for i in range(6)]  # IoU with last box < 0.1
    assert [c.type for _, c in run(t, frames)] == ["new"]


def test_skipped_frames_count_as_missed() -> None:
    t = tracker()
    run(t, [[(at(60, 100), "A")]] * 3)
    empty = np.zeros((0, len(SWIMMERS)))
    assert t.update(5, [], empty) == []  # unseen 3 frames: still alive
    (end,) = t.update(6, [], empty)
    assert isinstance(end, TrackChange) and end.type == "end"


def test_descriptors_must_match_detections_and_the_window_the_settling() -> None:
    with pytest.raises(ValueError, match="2 detections but 1 descriptors"):
        tracker().update(0, [at(0, 0), at(300, 0)], looks("A")[None])
    with pytest.raises(ConfigError, match=r"tracker\.settle_crops: need 1 <= settle_crops"):
        tracker(TrackerConfig(identity_frames=2, settle_crops=3))


def test_with_lanes_known_a_sideways_jump_inside_the_lane_continues_the_track() -> None:
    jumpy = [[(at(170, 300), "A")], [(at(260, 320), "A")]]  # both in lane 1
    in_lanes = tracker(TrackerConfig(settle_crops=1), lane_width=160)
    assert new_tracks(run(in_lanes, jumpy)) == [1]
    anywhere = tracker(TrackerConfig(settle_crops=1))  # 90 px sideways: more than a box width
    changes = run(anywhere, jumpy)
    assert new_tracks(changes) == [1, 2]
    # The new track looks as much like A as the old one, which still holds A until it ends.
    assert [(c.track_id, c.swimmer_id) for _, c in changes] == [(1, "A"), (2, None)]


def test_every_detection_is_keyed_to_its_track_from_the_first_frame() -> None:
    """reid-collect files crops by these keys, before a track is announced and after."""
    t = tracker()
    seen = []
    for i in range(6):
        frame = [(at(60, 100 + 8 * i), "A"), (at(380, 500 - 8 * i), "B")]
        run(t, [frame], start=i)
        seen.append(list(t.keys))
    assert seen == [[1, 2]] * 6
    run(t, [[]] * (CFG.max_missed + 1), start=6)
    run(t, [[(at(60, 100), "A")]], start=6 + CFG.max_missed + 1)
    assert t.keys == [3]  # a track that ended is never continued: a new key


def described_frames(t: Tracker, frames: list[list[tuple[Detection, str]]], start: int = 0):
    """Feed frames through the `describe` callback; the frames whose crop was described."""
    seen = []
    for index, frame in enumerate(frames, start):

        def describe(wanted: list[int], frame=frame, index=index) -> np.ndarray:
            seen.extend([index] * len(wanted))
            return np.array([looks(frame[i][1]) for i in wanted]).reshape(-1, len(SWIMMERS))

        t.update(index, [d for d, _ in frame], describe)
    return seen


BUDGET = TrackerConfig(max_missed=3, identity_frames=12, settle_crops=3, embed_interval=4)


def test_a_steady_track_is_described_on_a_schedule() -> None:
    t = tracker(BUDGET)
    seen = described_frames(t, [[(at(60, 100 + 2 * i), "A")] for i in range(40)])
    # Every frame until announced (frame 2) and for settle_crops frames from then (to 4), then
    # every 4th.
    assert seen == [0, 1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 36]


def test_a_changed_answer_or_a_gap_is_watched_on_every_frame() -> None:
    t = tracker(BUDGET)
    seen = described_frames(t, [[(at(60, 100 + 2 * i), "A")] for i in range(12)])
    assert seen == [0, 1, 2, 3, 4, 8]
    # The track's crops now look like B: the scheduled ones move the mean until the answer
    # changes (at frame 16: the window of 12 frames holds A at 8, B at 12 and 16), then it is
    # described on every frame for settle_crops frames.
    seen = described_frames(t, [[(at(60, 124 + 2 * i), "B")] for i in range(20)], start=12)
    assert seen == [12, 16, 17, 18, 22, 26, 30], seen
    # Unseen for two frames, back: described at once.
    seen = described_frames(t, [[], [], [(at(60, 176), "B")]], start=40)
    assert seen == [42]


def test_a_name_looks_back_as_many_frames_whatever_the_schedule() -> None:
    """The mean is of the crops of the last identity_frames frames: described on every frame
    or every 4th, a track whose crops turn from A to B is named B within that many frames. (A
    window of 12 crops spanned 48 frames on the schedule, and B took 24 frames to show.)"""
    frames = [[(at(60, 100 + 2 * i), "A" if i < 30 else "B")] for i in range(60)]
    for cfg in (replace(BUDGET, embed_interval=1), BUDGET):
        t = tracker(cfg)
        updates = []
        for index, frame in enumerate(frames):

            def describe(wanted: list[int], frame=frame) -> np.ndarray:
                return np.array([looks(frame[i][1]) for i in wanted]).reshape(-1, len(SWIMMERS))

            changes = t.update(index, [d for d, _ in frame], describe)
            updates += [(index, c.swimmer_id) for c in changes if c.type == "update"]
        index, swimmer = updates[-1]  # (through unknown while the mean is half A, half B)
        assert swimmer == "B" and 30 < index < 30 + cfg.identity_frames, (cfg, updates)


def test_with_descriptors_given_every_crop_counts() -> None:
    t = tracker(BUDGET)
    run(t, [[(at(60, 100 + 2 * i), "A")] for i in range(20)])
    assert len(t._tracks[0].recent) == BUDGET.identity_frames  # a full window, every frame


# Several swimmers share a lane (circle swimming) and vanish for a few frames in a splash; the
# default max_missed (10 frames) bridges that.
LANE = TrackerConfig(min_iou=0.1, identity_frames=5, settle_crops=3)


def test_swimmers_passing_head_on_in_one_lane_keep_their_ids() -> None:
    """A swims down, B up, 10 px apart sideways (their boxes overlap by three quarters), 4 px a
    frame; both are unseen for 7 frames as they cross. Against the last boxes, each comes back
    nearer where the other was, and the tracks swap; the predictions keep them apart."""
    t = tracker(LANE)
    frames = [[(at(100, 100 + 4 * i), "A"), (at(110, 340 - 4 * i), "B")] for i in range(61)]
    frames[27:34] = [[]] * 7  # they cross at frame 30
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in run(t, frames)] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
    ]
    assert {c.track_id: c.box.y for c in t.finish()} == {1: 340, 2: 100}


def test_a_faster_swimmer_overtaking_in_one_lane_keeps_its_id() -> None:
    """A (4 px a frame) overtakes B (3 px a frame): it swings 10 px out towards the lane centre
    while alongside, then back. Both are unseen for 9 frames from when A is 40 px behind, so A
    comes back where B was last seen."""
    t = tracker(LANE)
    frames = []
    for i in range(200):
        ya, yb = 30 + 4 * i, 150 + 3 * i
        out = round(10 * min(1.0, max(0.0, (140 - abs(ya - yb)) / 40)))  # alongside: 10 px out
        frames.append([(at(100 + out, ya), "A"), (at(100, yb), "B")])
    frames[80:89] = [[]] * 9  # frame 80: A at 350, B at 390
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in run(t, frames)] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
    ]
    assert {c.track_id: c.box.y for c in t.finish()} == {1: 30 + 4 * 199, 2: 150 + 3 * 199}


def test_a_swimmer_unseen_for_a_while_continues_where_it_went() -> None:
    """Unseen for 29 frames (under max_missed 30) at 4 px a frame, the swimmer is back 120 px
    further on: more than a box size from its last box, where its moving track expects it."""
    t = tracker(TrackerConfig(max_missed=30, min_iou=0.1, identity_frames=5, settle_crops=3))
    frames = [[(at(60, 100 + 4 * i), "A")] for i in range(10)] + [[]] * 29
    frames += [[(at(60, 100 + 4 * i), "A")] for i in range(39, 45)]
    changes = run(t, frames)
    assert t.keys == [1]
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in changes] == [("new", 1, "A")]


def test_a_swimmer_back_from_a_turn_under_water_continues_its_track() -> None:
    """With rejoin_frames, a track whose swimmer went under at a wall waits, and the box that
    comes back near there (the other side of the lane, heading back) continues it: no new
    track, nothing announced, even for a stranger the bundle cannot name."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    down = [[(at(60, 400 + 6 * i), STRANGER)] for i in range(10)]
    back = [[(at(120, 440 - 6 * i), STRANGER)] for i in range(10)]
    changes = run(t, down + [[]] * 20 + back) + run(t, [[]] * 40, start=40)
    assert [(i, c.type, c.track_id, c.swimmer_id) for i, c in changes] == [
        (2, "new", 1, None),
        (73, "end", 1, None),  # unseen from 40: max_missed 3, then 30 frames waiting
    ]


def test_a_swimmer_whose_boxes_shrank_going_under_still_reaches_its_way_back() -> None:
    """Going under at the wall, a swimmer leaves boxes ever shorter (down to 20 px of its 100):
    come up 5 frames later on the other side of the lane, a body length from its last box, it
    is in reach of its usual length and continues its track; measured by the last box, a
    stranger's new track would be announced when the wait ends."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    down = [[(at(60, 400 + 2 * i), STRANGER)] for i in range(30)]
    under = [[(Detection(Box(60, 560 - h, 40, h)), STRANGER)] for h in (80, 60, 40, 20)]
    back = [[(at(120, 420 - 2 * i), STRANGER)] for i in range(50)]
    changes = run(t, down + under + [[]] * 5 + back)
    assert math.dist(Box(60, 540, 40, 20).center, at(120, 420).box.center) == 100
    assert [(i, c.type, c.track_id) for i, c in changes] == [(2, "new", 1)]


def test_a_swimmer_that_slowed_into_the_wall_still_reaches_where_its_glide_ends() -> None:
    """A swimmer slows into the wall (its last boxes 1 px a frame of its 4) and glides back
    under water for 20 frames: it surfaces 145 px from its last box, which its pace over the
    length covers in that time but the speed of its last few boxes does not. It continues its
    track; gated by that last speed, a stranger's new track would be announced when the wait
    ends."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    down = [[(at(60, 300 + 4 * i), STRANGER)] for i in range(30)]
    slowing = [[(at(60, 417 + i), STRANGER)] for i in range(4)]
    back = [[(at(60, 275 - 4 * i), STRANGER)] for i in range(50)]
    changes = run(t, down + slowing + [[]] * 20 + back)
    assert [(i, c.type, c.track_id) for i, c in changes] == [(2, "new", 1)]


def test_a_swimmer_back_far_away_is_rejoined_by_its_name() -> None:
    """Back out of the lost track's reach (the other end of the lane), A's new track is named
    A and continues A's waiting track under its id; B, a different swimmer appearing in the
    lane meanwhile, is a track of its own."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    down = [[(at(60, 400 + 6 * i), "A")] for i in range(10)]
    gone = [[(at(200, 100 + 6 * i), "B")] for i in range(20)]  # B in A's lane; A unseen
    back = [[(at(200, 100 + 6 * (20 + i)), "B"), (at(120, 20 + 6 * i), "A")] for i in range(10)]
    changes = run(t, down + gone + back) + run(t, [[]] * 40, start=40)
    assert [(i, c.type, c.track_id, c.swimmer_id) for i, c in changes] == [
        (2, "new", 1, "A"),
        (12, "new", 2, "B"),
        (73, "end", 2, "B"),
        (73, "end", 1, "A"),
    ]


def test_a_piece_named_the_swimmer_of_a_track_just_lost_continues_that_track() -> None:
    """A's last crops are half water (going under at a wall) and its track loses it; a moment
    later, before that track waits, a box out of its reach (a piece of A's blob, A surfacing)
    settles into a track whose crops name A better. The naming gives it A (one swimmer, one
    place); it continues A's track under its id, not as a new track beside an unknown one."""
    t = tracker(replace(CFG, max_missed=8, rejoin_frames=30), lane_width=320)
    fading = looks([0.7, 0.0, 0.0, 0.71])  # cosine 0.7 to A: named A, but weakly
    down = [[(at(60, 100 + 6 * i), "A" if i < 6 else fading)] for i in range(10)]
    piece = [[(at(120, 400 + 6 * i), "A")] for i in range(10)]
    changes = run(t, down + piece)
    assert [(i, c.type, c.track_id, c.swimmer_id) for i, c in changes] == [(2, "new", 1, "A")]
    assert [(v.track_id, v.swimmer_id) for v in t.visible] == [(1, "A")]


def test_a_swimmer_back_far_away_continues_the_waiting_track_it_looks_most_like() -> None:
    """A and B turned under water in one lane. B surfaces out of both tracks' reach in a
    splash that the gallery names A (0.65, B 0.55), yet it looks like B's track (0.92, A's
    0.65): of the tracks waiting in the lane for a swimmer it may be, it continues the one it
    looks like, B's, under B's id. Taking A's by the gallery's word, it would be announced as
    A while A is still under water."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    b_look = looks([0.3, 0.75, 0.0, 0.59])
    splash = looks([0.65, 0.55, 0.0, 0.52])
    a = [(at(60, 400 + 6 * i), "A") if i < 10 else None for i in range(22)]
    b = [(at(200, 100 + 6 * i), b_look) if i < 12 else None for i in range(22)]
    frames = [[d for d in pair if d is not None] for pair in zip(a, b, strict=True)]
    frames += [[(at(120, 700 + 6 * i), splash if i < 3 else b_look)] for i in range(8)]
    changes = run(t, frames)
    assert [(i, c.type, c.track_id, c.swimmer_id) for i, c in changes] == [
        (2, "new", 1, "A"),
        (2, "new", 2, "B"),
    ]
    assert [(v.track_id, v.swimmer_id) for v in t.visible] == [(2, "B")]


def test_a_swimmer_back_far_away_in_a_splash_is_not_announced_as_a_stranger_first() -> None:
    """Back out of reach, A's first crops are a splash that names no one: while A's track waits
    in the lane, the new track is not announced as an unknown swimmer, and it continues A's
    track once its crops name A."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    down = [[(at(60, 400 + 6 * i), "A")] for i in range(10)]
    back = [[(at(120, 20 + 6 * i), STRANGER if i < 4 else "A")] for i in range(12)]
    changes = run(t, down + [[]] * 10 + back)
    assert [(i, c.type, c.track_id, c.swimmer_id) for i, c in changes] == [(2, "new", 1, "A")]
    assert [(v.track_id, v.swimmer_id) for v in t.visible] == [(1, "A")]


def test_a_swimmer_under_water_keeps_its_name_from_a_lane_mate_who_looks_like_it() -> None:
    """A looks a little more like B than like itself. While B is in view the naming gives
    each its own; while B is under water after its turn, A's track must not take B's name (B
    is still there, under), and B back continues its own track."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    a_like_b = np.array([0.65, 0.76, 0.0, 0.0])
    a = [(at(60, 100 + 4 * i), a_like_b) for i in range(40)]
    b = [(at(200, 400 + 6 * i), "B") for i in range(10)]
    b += [None] * 15 + [(at(200, 440 - 6 * i), "B") for i in range(15)]
    frames = [[d for d in pair if d is not None] for pair in zip(a, b, strict=True)]
    changes = run(t, frames)
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in changes] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
    ]


@pytest.mark.parametrize(("b_likeness", "first_up"), [(0.72, "A"), (0.80, "B")])
def test_lane_mates_turning_together_come_up_in_the_order_they_went_under(
    b_likeness: float, first_up: str
) -> None:
    """A reaches the wall 5 frames before B; both are in reach of the first box that surfaces,
    which looks a little more like B (the same cap and suit): A went under first, so it is A's
    track that goes on. A crop clearly B's is B, whatever the order."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    down = [[(at(60, 400 + 6 * i), "A"), (at(200, 400 + 6 * i), "B")] for i in range(10)]
    down += [[(at(200, 400 + 6 * i), "B")] for i in range(10, 15)]
    surfacing = [(at(130, 470), [0.70, b_likeness, 0.0, 0.0])]
    run(t, down + [[]] * 15 + [surfacing])
    assert 0.72 - 0.70 < ORDER_WEIGHT < 0.80 - 0.70
    assert [(v.track_id, v.swimmer_id) for v in t.visible] == [("AB".index(first_up) + 1, first_up)]


def test_a_piece_of_a_swimmer_does_not_take_the_swimmer_from_its_track() -> None:
    """A's blob falls in two for a frame, in a splash: the piece starts a track of its own.
    From then on one box overlaps both tracks, and its crops (whitened by the splash) look a
    little more like the piece's one crop than like A's track: A's announced track keeps its
    swimmer, and the piece never becomes a second track."""
    t = tracker(lane_width=320)
    splash = looks([1.0, 0.0, 0.0, 0.33])  # 0.95 like A
    before = [[(at(140, 100 + 6 * i), "A")] for i in range(10)]
    split = [[(at(140, 160), "A"), (Detection(Box(146, 150, 40, 90)), splash)]]
    after = [[(at(140, 166 + 6 * i), splash)] for i in range(10)]
    changes = run(t, before + split + after)
    assert float(splash @ looks("A")) > 1.0 - SETTLED_WEIGHT
    assert new_tracks(changes) == [1]
    assert [(v.track_id, v.swimmer_id) for v in t.visible] == [(1, "A")]


def test_without_a_look_a_shared_box_goes_to_the_track_it_overlaps_most() -> None:
    """reid-collect links tracks by their boxes alone (`name_no_one`, every crop alike): a
    piece that overlaps the shared box more keeps it, announced track or not."""
    t = Tracker(CFG, name_no_one, lambda box: int(box.center[0] // 320))
    piece = Box(146, 150, 40, 90)
    frames = [[at(140, 100 + 6 * i).box] for i in range(10)] + [[Box(140, 160, 40, 100), piece]]
    frames += [[Box(146, 151 + i, 40, 90)] for i in range(3)]
    for index, boxes in enumerate(frames):
        t.update(index, [Detection(b) for b in boxes], np.zeros((len(boxes), 1)))
        if index == 10:
            piece_key = t.keys[1]
    assert t.keys == [piece_key]


def test_lane_mates_back_from_a_turn_are_told_apart_by_their_look() -> None:
    """A and B go under at the wall side by side and come back each where the other went under:
    by distance their tracks would swap; by look each continues its own, and nothing changes."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    down = [[(at(60, 400 + 6 * i), "A"), (at(200, 400 + 6 * i), "B")] for i in range(10)]
    back = [[(at(200, 440 - 6 * i), "A"), (at(60, 440 - 6 * i), "B")] for i in range(10)]
    changes = run(t, down + [[]] * 20 + back)
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in changes] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
    ]
    assert {c.track_id: (c.swimmer_id, c.box.x) for c in t.finish()} == {
        1: ("A", 200),
        2: ("B", 60),
    }


def test_a_wrong_choice_by_look_is_mended_within_fresh_frames_and_the_ids_follow() -> None:
    """A and B go under side by side and surface each where the other went, in a splash that
    looks like both: the look cannot tell them apart, so by distance each track takes the other
    swimmer. FRESH_FRAMES after surfacing (not once the swimmer now held fills half the window,
    about 60 frames here) the names follow the swimmers, and the track ids with them: track 1
    is A's throughout, so nothing is announced."""
    t = tracker(replace(CFG, rejoin_frames=30, identity_frames=120), lane_width=320)
    down = [[(at(60, 100 + 4 * i), "A"), (at(200, 100 + 4 * i), "B")] for i in range(60)]
    splash = [[(at(200, 440), [1, 1, 0, 0]), (at(60, 440), [1, 1, 0, 0])]]
    back = [[(at(200, 440 - 4 * i), "A"), (at(60, 440 - 4 * i), "B")] for i in range(1, 60)]
    surfaced = len(down) + 20
    changes = run(t, down + [[]] * 20 + splash)
    seen = []  # per frame after surfacing: track id -> (name, box x)
    for index, frame in enumerate(back, surfaced + 1):
        changes += run(t, [frame], start=index)
        seen.append({v.track_id: (v.swimmer_id, v.box.x) for v in t.visible})
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in changes] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
    ]
    mended = FRESH_FRAMES - 1  # frame surfaced + FRESH_FRAMES
    assert seen[mended - 1] == {1: ("A", 60), 2: ("B", 200)}  # each track on the other swimmer
    assert seen[mended] == {1: ("A", 200), 2: ("B", 60)}


def test_names_swapping_between_two_lanes_are_announced() -> None:
    """A track never leaves its lane, so tracks in two lanes whose names swap hold the same
    swimmers as before: their look changed (or had been read wrong), and each new answer is
    announced on its own track."""
    t = tracker(lane_width=320)
    crops = [("A", "B")] * 10 + [("B", "A")] * 10
    frames = [[(at(60, 100 + 4 * i), a), (at(380, 100 + 4 * i), b)]
              for i, (a, b) in enumerate(crops)]  # fmt: skip
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in run(t, frames)] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
        ("update", 1, "B"),
        ("update", 2, "A"),
    ]


def test_swimmers_who_change_sides_while_overlapping_are_told_apart_by_their_look() -> None:
    """A and B swim side by side, their boxes overlapping, and change sides within three frames
    (one pulling out to pass): each box overlaps both predictions, so it is contested, and the
    look decides; by overlap alone each track would keep its side and swap swimmers."""
    t = tracker(lane_width=320)
    xs = [100] * 20 + [107, 113, 120] + [120] * 20
    frames = [[(at(x, 100 + 4 * i), "A"), (at(220 - x, 100 + 4 * i), "B")]
              for i, x in enumerate(xs)]  # fmt: skip
    assert [(c.type, c.track_id, c.swimmer_id) for _, c in run(t, frames)] == [
        ("new", 1, "A"),
        ("new", 2, "B"),
    ]
    assert {c.track_id: c.box.x for c in t.finish()} == {1: 120, 2: 100}


def test_without_rejoin_frames_a_swimmer_back_from_a_turn_is_a_new_track() -> None:
    t = tracker(lane_width=320)
    down = [[(at(60, 400 + 6 * i), "A")] for i in range(10)]
    back = [[(at(120, 440 - 6 * i), "A")] for i in range(10)]
    changes = run(t, down + [[]] * 20 + back)
    assert [(i, c.type, c.track_id) for i, c in changes] == [
        (2, "new", 1),
        (13, "end", 1),  # unseen in 10, 11, 12
        (32, "new", 2),
    ]


def test_visible_lists_the_announced_tracks_of_the_last_frame() -> None:
    t = tracker()
    run(t, [[(at(60, 100 + 8 * i), "A"), (at(380, 500), "B")] for i in range(3)])
    assert [(v.track_id, v.swimmer_id, v.box) for v in t.visible] == [
        (1, "A", Box(60, 116, 40, 100)),
        (2, "B", Box(380, 500, 40, 100)),
    ]
    run(t, [[(at(380, 500), "B")]], start=3)  # A unseen in frame 3
    assert [v.track_id for v in t.visible] == [2]
    run(t, [[]], start=4)
    assert t.visible == []


def follow_two(t: Tracker, gap: int, side_by_side: bool = False) -> None:
    """A (ahead) and B swimming down one lane, `gap` px apart (or side by side), long enough
    to be told apart (SEPARATE_AFTER frames)."""
    for i in range(FOLLOWED):
        y = 100 + 4 * i
        if side_by_side:
            frame = [
                (Detection(Box(60, y, 40, 100)), "A"),
                (Detection(Box(100 + gap, y, 40, 100)), "B"),
            ]
        else:
            frame = [(Detection(Box(60, y + 100 + gap, 40, 100)), "A"), (at(60, y), "B")]
        run(t, [frame], start=i)


FOLLOWED = SEPARATE_AFTER + 1


@pytest.mark.parametrize(("side_by_side", "cut"), [(False, 269), (True, 105)])
def test_one_blob_holding_two_tracks_is_cut_between_them(side_by_side: bool, cut: int) -> None:
    """One close behind the other, or side by side: the detector sees one blob. It is cut half
    way between where the two tracks are predicted (centres 214 and 324 down the lane at the
    velocity learnt; 80 and 130 across), and each track continues on its part."""
    t = tracker()
    follow_two(t, gap=10, side_by_side=side_by_side)
    keys = list(t.keys)
    blob = Box(60, 164, 90, 100) if side_by_side else Box(60, 164, 40, 210)
    parts = [d.box for d in t.separate([Detection(blob)], FOLLOWED)]
    if side_by_side:
        assert parts == [Box(60, 164, cut - 60, 100), Box(cut, 164, 150 - cut, 100)]
    else:
        assert parts == [Box(60, 164, 40, cut - 164), Box(60, cut, 40, 374 - cut)]
    who = [looks("A"), looks("B")] if side_by_side else [looks("B"), looks("A")]
    t.update(FOLLOWED, [Detection(p) for p in parts], np.array(who))
    assert sorted(t.keys) == sorted(keys)
    assert t.boxes == parts  # what the daemon cropped, for a scorer


def test_parts_cut_from_a_blob_of_two_leave_the_names_alone() -> None:
    """A part cut half way between two swimmers holds some of the other one; at worst it looks
    like the other. For longer than `identity_frames`, the blob is cut and each part looks like
    the other swimmer: the names stay, as the tracks' means take no such crops."""
    t = tracker()
    follow_two(t, gap=10)
    names = {v.track_id: v.swimmer_id for v in t.visible}
    for i in range(FOLLOWED, FOLLOWED + 2 * CFG.identity_frames):
        blob = Detection(Box(60, 164 + 4 * (i - FOLLOWED), 40, 210))
        parts = t.separate([blob], i)
        assert len(parts) == 2
        assert t.update(i, parts, np.array([looks("A"), looks("B")])) == []  # B's part first
    assert {v.track_id: v.swimmer_id for v in t.visible} == names == {1: "A", 2: "B"}


def test_a_box_one_swimmer_long_is_not_cut() -> None:
    """Two tracks predicted inside a box of one swimmer's size: a duplicate, not two swimmers."""
    t = tracker()
    follow_two(t, gap=-60)  # A's box overlaps B's by 60 of 100 px
    blob = Box(60, 164, 40, 110)
    assert [d.box for d in t.separate([Detection(blob)], FOLLOWED)] == [blob]
    assert [d.box for d in t.separate([Detection(Box(500, 100, 40, 100))], FOLLOWED)] == [
        Box(500, 100, 40, 100)
    ]


def test_a_box_one_swimmer_long_is_not_cut_for_a_track_left_on_a_fragment() -> None:
    """B's boxes fall to a 24 px fragment (half under A, or turning) while A swims on: a blob
    120 px long holding both predicted centres is one swimmer and a bit, not B and A, whose
    usual lengths (B's down to 79 px after four fragments, A's 100) need 143 px (blob_cut's
    SEPARATE_SHARE of them). By B's last box, 99 px would do, and B's track would ride on half
    of A."""
    t = tracker()
    follow_two(t, gap=10)  # B at y 160, A at 270, both 100 px long
    for i in range(FOLLOWED, FOLLOWED + 4):
        fragment = Detection(Box(60, 240 + 4 * (i - FOLLOWED), 40, 24))
        run(t, [[(fragment, "B"), (at(60, 210 + 4 * i), "A")]], start=i)
    assert sorted(t.keys) == [1, 2]  # each still on its own track
    blob = Box(60, 250, 40, 120)
    assert [d.box for d in t.separate([Detection(blob)], FOLLOWED + 4)] == [blob]


def test_a_box_one_swimmer_wide_is_not_cut_for_tracks_on_parts() -> None:
    """A and B side by side, 40 px wide each, share a 70 px blob: it is cut in two 35 px
    parts. Next frame B is under water and the blob, A and a bit, is 58 px wide: one swimmer,
    not two of the 80 px their own boxes need (blob_cut's SEPARATE_SHARE of them). By the
    parts' widths 56 px would do, and the two tracks would ride on halves of A from then on,
    each cut narrowing the next."""
    t = tracker()
    follow_two(t, gap=-10, side_by_side=True)  # A at x 60-100, B at 90-130
    parts = [d.box for d in t.separate([Detection(Box(60, 164, 70, 100))], FOLLOWED)]
    assert [p.w for p in parts] == [35, 35]
    t.update(FOLLOWED, [Detection(p) for p in parts], np.array([looks("A"), looks("B")]))
    blob = Box(60, 168, 58, 100)
    assert [d.box for d in t.separate([Detection(blob)], FOLLOWED + 1)] == [blob]


def test_a_swimmer_whose_blob_fell_in_two_for_a_moment_is_not_cut() -> None:
    """A kick splits one swimmer's blob for a few frames: a second track starts, but the whole
    swimmer's box is not cut for it (nor kept in halves after)."""
    t = tracker()
    run(t, [[(at(60, 100 + 4 * i), "A")] for i in range(20)])
    head, legs = Detection(Box(60, 180, 40, 40)), Detection(Box(60, 230, 40, 50))
    run(t, [[(head, "A"), (legs, "A")]] * 3, start=20)
    whole = Box(60, 192, 40, 100)
    assert [d.box for d in t.separate([Detection(whole)], 23)] == [whole]


def lane_mate_back_behind(t: Tracker) -> None:
    """B swims up the lane; A swims down, goes under at frame 10 (a turn), and waits."""
    frames = [[(at(60, 700 - 4 * i), "B")] + ([(at(60, 400 + 4 * i), "A")] if i < 10 else [])
              for i in range(30)]  # fmt: skip
    run(t, frames)


def test_a_lane_mate_surfacing_in_one_blob_with_a_swimmer_is_cut_off_for_its_track() -> None:
    """A surfaces close behind B: one blob, 200 px, where B's track expects its 100 px box.
    A's lost track can have got to the part past B's, so the blob is cut at B's edge and A's
    track goes on with that part: no new track, and B's keeps its own."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    lane_mate_back_behind(t)
    blob = Box(60, 580, 40, 200)
    parts = [d.box for d in t.separate([Detection(blob)], 30)]
    assert parts == [Box(60, 580, 40, 100), Box(60, 680, 40, 100)]
    t.update(30, [Detection(p) for p in parts], np.array([looks("B"), looks("A")]))
    assert {v.track_id: (v.swimmer_id, v.box.y) for v in t.visible} == {
        1: ("B", 580),
        2: ("A", 680),
    }


def test_a_part_cut_off_that_looks_like_the_lane_mate_is_nobodys() -> None:
    """The part past B's box looks like B, not like A (B's splash, or B reaching): A's track
    does not take it, and it starts no track of its own; its crop is filed under B's track."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    lane_mate_back_behind(t)
    parts = [d.box for d in t.separate([Detection(Box(60, 580, 40, 200))], 30)]
    assert len(parts) == 2
    t.update(30, [Detection(p) for p in parts], np.array([looks("B"), looks("B")]))
    assert [(v.track_id, v.box.y) for v in t.visible] == [(1, 580)]
    assert t.keys == [1, 1]


def test_a_long_blob_with_nobody_lost_in_reach_is_one_swimmer() -> None:
    """A splash or a reaching arm lengthens a swimmer's blob too: with no lost lane-mate that
    can have got there (A went under in another lane), the blob stays whole."""
    t = tracker(replace(CFG, rejoin_frames=30), lane_width=320)
    frames = [[(at(60, 700 - 4 * i), "B")] + ([(at(400, 400 + 4 * i), "A")] if i < 10 else [])
              for i in range(30)]  # fmt: skip
    run(t, frames)
    blob = Box(60, 580, 40, 200)
    assert [d.box for d in t.separate([Detection(blob)], 30)] == [blob]


def test_a_tracks_mean_follows_its_crops_and_contests_though_remembered():
    """The mean is remembered between frames, yet a new crop moves it, and so does a contest
    alone: a track contested again starts its fresh part from scratch (all its recent crops)."""
    track = _Track(Box(0, 0, 10, 20), 0, key=1)
    window = 10 * FRESH_FRAMES
    for frame in range(3):
        track.describe(looks("A"), frame, window)
    np.testing.assert_allclose(track.mean(), looks("A"))
    track.contested = 3
    for frame in range(4, 5 + FRESH_FRAMES):
        track.describe(looks("B"), frame, window)
    np.testing.assert_allclose(track.mean(), looks("B"))  # only the crops since the contest
    before = track.mean()
    track.contested = 5 + FRESH_FRAMES  # contested again, no crop since
    assert not np.allclose(track.mean(), before)
    np.testing.assert_allclose(track.mean(), (3 * looks("A") + (1 + FRESH_FRAMES) * looks("B"))
                               / (4 + FRESH_FRAMES))  # fmt: skip
    track.describe(looks("C"), 6 + FRESH_FRAMES, window)
    assert track.mean()[2] > 0


def test_boxes_touch_exactly_when_their_overlap_is_positive():
    """`_touching` picks the pairs worth an IoU: those sharing pixels, not those sharing an
    edge or a corner, nor empty boxes."""
    rng = np.random.default_rng(0)
    boxes = [Box(*rng.integers(-5, 40, 2).tolist(), *rng.integers(0, 15, 2).tolist())
             for _ in range(60)]  # fmt: skip
    boxes += [Box(0, 0, 10, 10), Box(10, 0, 10, 10), Box(10, 10, 5, 5), Box(3, 3, 0, 8)]
    touching = _touching(boxes[:30] + boxes[-4:], boxes[30:])
    expected = [[a.iou(b) > 0 for b in boxes[30:]] for a in boxes[:30] + boxes[-4:]]
    assert touching.tolist() == expected
    assert _touching([], boxes).shape == (0, len(boxes))


def test_boxes_hold_the_centres_box_contains_says_they_hold():
    """`separate` asks which predicted centres each detection holds all at once; the same
    answers as `Box.contains`, half-open: a centre on a box's far edge is outside."""
    rng = np.random.default_rng(1)
    boxes = [Box(*rng.integers(0, 30, 2).tolist(), *rng.integers(0, 12, 2).tolist())
             for _ in range(40)]  # fmt: skip
    boxes += [Box(0, 0, 10, 10), Box(5, 0, 10, 10), Box(10, 5, 1, 1), Box(0, 0, 0, 0)]
    holds = _centres_in(boxes[:20] + boxes[-4:], boxes[20:])
    expected = [[a.contains(*b.center) for b in boxes[20:]] for a in boxes[:20] + boxes[-4:]]
    assert holds.tolist() == expected
    assert Box(0, 0, 10, 10).contains(*Box(5, 0, 10, 10).center) is False  # x 10: the edge
    assert _centres_in(boxes, []).shape == (len(boxes), 0)


def test_a_box_grown_at_one_end_does_not_turn_its_track_around():
    """A swimmer heading up the lane whose box gains a faint tail for a few frames (legs coming
    into view, a lane-mate's arm) still moves up: its top edge did. Its centre moved down by
    half the growth, and a velocity of centres then predicted it onto a passing lane-mate."""
    track = _Track(Box(100, 300, 30, 90), 0, key=1)
    for frame in range(1, 10):
        track.see(Box(100, 300 - 3 * frame, 30, 90), frame)
    for frame in range(10, 13):
        track.see(Box(100, 300 - 3 * frame, 30, 130), frame)  # 40 px more at the bottom
    assert track.velocity[1] < -2
    assert track.predicted(14).y < track.box.y
    track.see(Box(100, 300 - 3 * 13, 30, 90), 13)  # the tail gone again
    assert track.velocity[1] < -2
