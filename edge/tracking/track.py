"""Linking detections across frames into tracks, and naming each track from all its crops.

A single crop's descriptor is noisy (a splash, a turn, motion blur, the light of the hour); a
track is described by the mean descriptor of the crops of its last `identity_frames` frames,
and all live tracks are named together (identity.py: each swimmer in at most one place,
unknown below the bundle's track threshold), so one bad crop changes nothing and a stranger who
looks like a swimmer in another lane stays unknown. Events are what a subscriber cares about:
`new` once a track has `settle_crops` crops (this is also the min-hits rule: a detection seen
in fewer frames never becomes a visible track, so a one-frame splash invents nothing), `update`
when its answer changes, `end` when the track has been unseen for more than `max_missed`
frames.

Describing a crop (the CNN) is what a frame costs, so the tracker decides which crops it needs
(`update` with a `describe` callback): every crop of a track that is new, not yet settled, back
from a gap, or whose answer changed within `settle_crops` frames, and otherwise one crop every
`embed_interval` frames. A settled swimmer's mean moves slowly; a changing one is watched
closely. A crop cut from a blob of two swimmers (`separate`) holds some of both, so it is not
described into a settled track's mean. The window is in frames, not crops, so the schedule
changes how many crops a mean holds, not how far back it looks: with a window of 15 crops,
describing every crop named 84.8 % of the club session's swimmer-seconds right
(bench/session.py --train, 3000 frames) against 91.6 % on the schedule, which spread the 15
over 3 s; with 75 frames, 91.6 and 91.2 %. A single crop cannot flag a swap by itself: its
descriptor's cosine to its own track's mean has a median of 0.77 and a 5th percentile of 0.46
(the real crops' pool video), as low as another swimmer's. So a swap is seen as the scheduled
crops move the mean, slower than with every crop: the price of the budget.

Matching is greedy, in two steps. A track seen within the last FOLLOW_GAP frames is followed by
motion when one box, and no other track, overlaps (IoU at least `min_iou`) where it is
predicted to be now: its last box moved on at its velocity (a smoothed per-frame displacement
of the box, per axis that of the edge that moved least: `_moved`; zero for a new track) for the
frames since it was seen. Against the last box, two passing swimmers' tracks can swap, and a
track back from a miss is looked for where it was, not where it went. Every other track (back
from a gap, off its prediction, or contested: swimmers side by side or close behind, whose
boxes overlap both predictions) is recognised: the boxes left are described first, and each
goes to the track in reach (its usual box length, plus its pace while unseen) whose mean
descriptor it is most like, less MOTION_WEIGHT per box size a box lies farther from its
prediction than the nearest one (sideways in widths, along in lengths: `_apart`), when it was
followed up to now (and a track not followed pays as much for a box that a followed track's
prediction is nearest to). Two lane-mates who shared a blob, pass or turned at the same wall
are as near as each other, and only their look tells them apart; two passing in sight are apart
by where they were heading, and a single crop's look is noisy. On the club session
(bench/session.py --train), swimmer-seconds named right went 86.3 -> 88.2 % recognising tracks
back from a gap, 89.3 -> 90.2 % those off their prediction, and 90.2 -> 91.6 % the contested
ones. The look can choose wrong (both crops a splash as two swimmers surface together): a
contested track's name is then taken from its crops since the contest alone once FRESH_FRAMES
have passed, and follows the swimmer it now holds within a second. When two lane-mates' names
swap, their track ids swap too: a track id stays one swimmer's, and a subscriber hears nothing,
as each id's answer stands. Swimmers stay in their lanes, so a box never continues a track in
another lane (the lane of the track's last box; when lanes are known, edge/geometry.py;
otherwise, in a box more than a box width away sideways); and they are named by the lane they
keep to (edge/tracking/lane_homes.py).

Swimmers close behind or beside each other are one blob to the water detector. Before a frame
is matched, `separate` cuts a box that holds the predicted centres of two or more tracks seen
apart before, and is about as long (or as wide) as their boxes usually are together (not their
last boxes: one may be a fragment of its swimmer, or a part an earlier cut made), half way
between them: each track goes on with its own part and its own crop. A swimmer back from a turn
under water often surfaces close behind or beside a lane-mate, whose track then takes the blob
of both; so a box that reaches well past the one track predicted in it, where a track waiting
in the lane can have got to, is cut at that track's edge, and the part goes to the waiting
track if it looks more like it than like the lane-mate (else it is nobody's: a splash, an arm).
On the club session (3000 frames, trained bundle), swimmer-seconds tracked 94.8 -> 95.9 %,
distinct tracks on swimmers 82 -> 72.

A swimmer turning at a wall glides under water for a second or two and comes back on the other
side of the lane, heading the other way: no motion model predicts that. With `rejoin_frames`,
an announced track lost for longer than `max_missed` waits that many more frames (its `end`
waits too). A box in its lane that no followed track takes continues it (by look, as above)
when the swimmer can have got there: within its boxes' usual length (not the last box's: a
swimmer going under leaves shorter and shorter boxes) of its predicted or last box, plus its
pace over the frames since (not its last boxes' speed: it slowed into the wall; the gate
widens with the gap, so a glide back from the wall it went under is in reach). Lane-mates who
reach a wall within a second of each other leave it in that order, as a lane circles: of two
or more waiting tracks a box could continue, the one lost first is favoured by ORDER_WEIGHT
(first under, first up). Look alone cannot choose between a club's swimmers in one cap and
suit.
Failing that, a new track in its lane that is named the same swimmer takes over its id: the
naming (one swimmer, one place) decides who that is, so a different swimmer appearing in the
lane meanwhile starts a track of its own. Nothing is announced: the answer stands. A track that
lost its swimmer a moment ago and has not begun to wait is taken over the same way: a blob
that falls in pieces at a wall or half under a lane-mate leaves the swimmer's track on a
fading fragment while a piece settles into a track of its own, and the naming gives the
swimmer to the piece (its crops are the swimmer's, the track's last ones mostly water). Club
session, the same three enrolments (seeds 0, 1, 2): tracks on swimmers 31, 29, 38 -> 29, 28,
36, named right 98.99, 98.91, 98.76 -> 99.12, 98.98, 98.91 %; layout 1: 46, 45, 46 -> 44, 45,
45 tracks, 98.38, 98.00, 98.07 -> 98.39, 98.00, 98.12 %. Where two or more such tracks are in
the lane and the naming gives the new track one of their swimmers, it continues the one whose
mean it is most like, with that one's answer: with seed 2, a piece of s14 surfacing in a splash
was named lane-mate 4 by the gallery (0.61, s14 0.48), while its mean was 0.69 like s14's track
and 0.39 like 4's; it took 4's track, and three lane-mates' tracks and names rotated. Seed 2: 36
-> 33 tracks, 98.91 -> 98.96 %; seeds 0 and 1 and layout 1 as they were.
A new track in that lane that no one can be named yet (a splash as the swimmer surfaces) is
not announced until it is named or the wait ends.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from edge.config import TrackerConfig, check_section
from edge.tracking.blob_cut import cut_between, split_off
from edge.tracking.identity import Naming
from edge.tracking.lane_homes import LaneHomes
from edge.types import Box, Detection

log = logging.getLogger(__name__)

MAX_JUMP_BOXES = 1.0  # a recognised box lies this many box sizes from the track, plus its swim
# The weight of the newest per-frame displacement in a track's velocity (an exponential mean).
# A blob's box centre can jump by a few px in one frame (an arm stroke, a splash) while a
# swimmer moves 2-4 px, so one frame must not steer the prediction; at 0.3, 83% of a change of
# pace shows within 5 frames.
VELOCITY_WEIGHT = 0.3
# The weight of the newest box's length in a track's size (an exponential mean), which sets how
# far its swimmer can have got while unseen (`_in_reach`). A swimmer going under at a wall or
# half under a passing lane-mate leaves a shorter and shorter box; measured from the last one,
# the swimmer coming back a body length on was out of reach and started a track of its own.
# Club session (3000 frames), each enrolled from the camera, last box -> this mean: named right
# 98.50 -> 98.87 % and tracks on swimmers 40 -> 36 (trained bundle), 92.05 -> 92.30 % and
# 49 -> 48 (real crops' bundle), 93.81 -> 93.95 % and 11 -> 11 (4 lanes of 2), 98.22 -> 98.27 %
# and 50 -> 49 (layout 1). At 0.03 (trained, one enrolment): 98.66 %, 40 tracks.
SIZE_WEIGHT = 0.1
# The weight of the newest per-frame speed of the box centre in a track's pace (an exponential
# mean), which sets how far its swimmer can have swum while unseen (`_in_reach`). The velocity
# of the last boxes is no measure of that at a wall: the swimmer slows into it and turns, then
# pushes off and glides back under water at its pace. On the club session 8's track went under
# moving 0.5 px a frame; 8 surfaced 164 px from its last box 20 frames later, out of that
# reach (116 px), and took lane-mate 7's track. Club session (3000 frames, trained bundle, one
# enrolment), last velocity -> pace: tracks on swimmers 36 -> 31 (on one for a second or more
# 31 -> 26), named right 98.87 -> 98.91 %.
PACE_WEIGHT = 0.1
# ...and only tracks seen apart, each on a box of its own, for this many frames are cut for: a
# swimmer whose blob falls in two for a frame (a kick, a splash) starts a second track, and
# cutting for it would keep the swimmer in two halves from then on.
SEPARATE_AFTER = 15
# Tracks seen within this many frames are followed by motion (IoU with the predicted box); the
# others (back from a turn, a shared blob) are recognised by their look among the boxes left.
FOLLOW_GAP = 2
# A track followed up to now that the look must settle (swimmers passing, side by side) still
# has a prediction worth something: each box size a box lies farther from it than the nearest
# box costs this much cosine. One crop's cosine to its track's mean is noisy (median 0.77, 5th
# percentile 0.46), and on the club session lane-mates passing swapped tracks where a crop of
# one looked more like the other. 3000 frames, one enrolment: distinct tracks on swimmers
# 69 -> 68 (trained bundle), 80 -> 69 (real crops' bundle), named right 96.2 -> 96.3 % and
# 87.4 -> 87.2 %. Counted from the prediction itself (not the nearest box), it gave 67 and 70
# tracks, 96.6 and 87.3 %, but it favoured a track back from a gap over a followed one for any
# box: reid-collect, which has no look, then filled its 4-lanes-of-2 folders 97.0 -> 94.1 %
# with their own swimmer's crops (95.7 % now). 0.05, 0.15, 0.40 from the prediction named
# 96.6, 96.6, 96.7 % (trained). 0.1 -> 0.2, judged over three trained bundles (seeds 0, 1, 2;
# bench/session.py --seeds): a crop at a pass looking like the lane-mate by a few hundredths no
# longer swaps the tracks (s3 and s9, who look alike, held each other's for 283 frames with seed
# 1, now 55); tracks on swimmers 32, 34, 38 -> 31, 29, 38, named right 98.62 -> 98.89 % on
# average (the same enrolments); layout 1, each enrolled again: 138 -> 137 tracks, 98.12 ->
# 98.15 %, reid-collect's folders as pure (98.1 %). 0.3 and 0.5 named as 0.2 did.
MOTION_WEIGHT = 0.2
LANES_REMEMBERED = 1024  # boxes whose lanes a tracker remembers (a frame holds a few dozen)
# A track told apart from a lane-mate by look (`_recognise`: contested) is named from its crops
# since then once the newest is this many frames after it: if the look chose wrong there, the
# name follows the swimmer now on the track within these frames, not once that swimmer fills
# half the `identity_frames` window. In frames, like the window, so the schedule does not change
# how long that takes. Club session (3000 frames, one enrolment), named right on the schedule:
# 94.8 -> 95.6 % (trained bundle), 83.4 -> 84.6 % (real crops' bundle); with every crop
# described 95.0 -> 94.3 %. 40 frames: 95.1 and 95.1 %; 5 crops, not frames: 95.6 and 93.8 %.
FRESH_FRAMES = 20
# First under, first up: the cosine a waiting track lost before the others waiting for a box
# gains for it. On the club session, s3 and s9 (one cap, suit and skin) turned at one wall 9
# frames apart; s3 surfaced first, its crop 0.79 like s9's track and 0.76 like its own, and
# took s9's track. 3000 frames, one enrolment: named right 97.6 -> 97.9 % (trained bundle; s3
# and s9 wrong 219 -> 16 frames), unchanged on layout 1, with the real crops' bundle and on 4
# lanes of 2; 0.02 left that turn as it was, 0.10 named as 0.05 did. Favouring the longest-lost
# track against followed ones too: 97.7 %, but -0.8 pp on 4 lanes of 2.
ORDER_WEIGHT = 0.05
# The cosine a track not yet announced pays for a box an announced track may also continue.
# Such a track is most often a piece of the announced track's swimmer: a blob fallen in two for
# a frame, or a box doubled beside it. Its mean, of a crop or two taken moments ago, looks more
# like the next crop than the announced track's mean over seconds does, and on the club session
# it took the swimmer from its track, which waited and ended while the piece settled into a
# second track. 3000 frames, one enrolment each: tracks on swimmers 47 -> 40 and named right
# 98.43 -> 98.55 % (trained bundle), 49 -> 42 and 91.06 -> 91.56 % (real crops' bundle), 60 ->
# 50 and 97.88 -> 98.22 % (layout 1), 13 -> 9 and 92.51 -> 93.43 % (4 lanes of 2). At 0.05: 42
# tracks, 98.51 %; at 0.2: 98.59 %, but 91.49 % with the real crops' bundle; at 0.3: 38
# tracks, 98.57 %. Not where tracks are linked without a look (reid-collect): there all are
# alike and the weight would hand every shared box to the announced track; the session's
# enrolment folders held 98.45 -> 96.75 % crops of their own swimmer (4 lanes of 2: 94.19 ->
# 90.96 %).
SETTLED_WEIGHT = 0.1
# Names the tracks whose mean descriptors are the rows, given whom each holds now, the
# swimmers whose tracks wait for them and, per track, the swimmers whose home its lane is:
# edge.vision.identify.Identifier.name_tracks.
Namer = Callable[[np.ndarray, list[str | None], set[str], list[set[str]]], list[Naming]]
LaneOf = Callable[[Box], int]


def name_no_one(
    means: np.ndarray, holding: list[str | None], away: set[str], home: list[set[str]]
) -> list[Naming]:
    """A `Namer` for linking tracks only (reid-collect, benchmarks of tracking): no one is
    named."""
    return [Naming(None, -1.0) for _ in holding]


# Descriptors for the crops of the detections at these indices (rows in that order).
Describe = Callable[[list[int]], np.ndarray]


@dataclass(frozen=True)
class TrackChange:
    """Something a subscriber should hear about one track."""

    type: Literal["new", "update", "end"]
    track_id: int
    swimmer_id: str | None
    score: float
    box: Box
    key: int = 0  # the tracker's own number for the track (Tracker.keys), not published


@dataclass(frozen=True)
class TrackView:
    """An announced track seen in the last frame: where it is and who it is said to be."""

    track_id: int
    swimmer_id: str | None
    box: Box


@dataclass(eq=False)  # a track is itself: lists of tracks are searched by identity
class _Track:
    box: Box
    last_seen: int
    key: int  # every track's, from its first box (track_id is only for announced ones)
    track_id: int | None = None  # given when announced
    naming: Naming = field(default_factory=lambda: Naming(None, -1.0))
    # (frame, descriptor) of the crops described in its last `identity_frames` frames seen
    recent: deque[tuple[int, np.ndarray]] = field(default_factory=deque)
    crops: int = 0  # described since it began
    described: int = -1  # the frame of its last descriptor
    changed: int = 0  # the frame its answer last changed (announced, updated)
    velocity: tuple[float, float] = (0.0, 0.0)  # px per frame (`_moved`), smoothed
    size: float = 0.0  # its boxes' length (the longer side), smoothed: see SIZE_WEIGHT
    width: int = 0  # its last own box's width (not a part `separate` cut)
    pace: float = 0.0  # its box centre's speed, px per frame, smoothed: see PACE_WEIGHT
    apart: int = 0  # frames it was seen on a box of its own (not a part `separate` cut)
    contested: int = -1  # the frame it was last told apart from another track by look
    # `mean` as of (crops, contested), what it depends on: asked of every settled track each
    # frame it is named, it moves only when a crop is described (about 2 ms a frame for 24).
    _mean: tuple[tuple[int, int], np.ndarray] | None = field(default=None, repr=False)

    def mean(self) -> np.ndarray:
        """The mean of its recent crops; only of those since it was contested once the newest
        is FRESH_FRAMES after that: before the contest it may have been another swimmer.
        Read-only: it is remembered."""
        key = (self.crops, self.contested)
        if self._mean is None or self._mean[0] != key:
            since = self.contested if self.recent[-1][0] - self.contested >= FRESH_FRAMES else -1
            mean = np.mean([row for frame, row in self.recent if frame >= since], axis=0)
            mean.flags.writeable = False
            self._mean = (key, mean)
        return self._mean[1]

    def describe(self, row: np.ndarray, frame_index: int, window: int) -> None:
        """Add this frame's descriptor; those from `window` frames before it or earlier leave
        the mean (counted from the newest, so a track unseen for a while keeps its last look)."""
        self.recent.append((frame_index, row))
        while self.recent[0][0] <= frame_index - window:
            self.recent.popleft()
        self.crops += 1
        self.described = frame_index

    def predicted(self, frame_index: int) -> Box:
        """Where the box should be in this frame: moved on at the velocity since last seen."""
        elapsed = frame_index - self.last_seen
        (vx, vy), box = self.velocity, self.box
        return Box(round(box.x + vx * elapsed), round(box.y + vy * elapsed), box.w, box.h)

    def expected(self, frame_index: int) -> Box:
        """The predicted box at no less than the track's usual length (`size`) along the lane
        (up the frame, as lanes run: edge/geometry.py), about the same centre: what a blob must
        hold to hold this swimmer (`separate`). A swimmer half under a lane-mate or turning
        leaves a fragment of a box; two tracks, one on such a fragment, counted a blob of one
        swimmer as two and cut it, and the fragment's track rode on half its lane-mate. Club
        session (3000 frames, trained bundle, one enrolment), the last box -> this: named right
        98.91 -> 99.07 %, tracks on swimmers 31 -> 29; layout 1 (the same enrolment) 97.64 ->
        97.80 %, 50 -> 47. Its width is no less than its last own box's (not a part's): a part
        is as wide as the cut made it. A waiting track took the part of a swimmer's box past
        its track (`_trim`: the lane-mate surfacing beside it, as it seemed), and from then on
        the two tracks' parts, together about the swimmer's width, let every next box of it be
        cut again, the parts narrowing frame by frame. Layout 1, three trained bundles (the
        enrolments of bench/session.py --seeds): tracks on swimmers 122 -> 119, named right
        98.73 -> 98.74 %; the club session 82 tracks as before, 99.16 -> 99.15 %; hard edges
        57 -> 58 tracks, 97.97 -> 98.01 %."""
        box = self.predicted(frame_index)
        length, width = max(box.h, round(self.size)), max(box.w, self.width)
        x, y = box.center
        return Box(round(x - width / 2), round(y - length / 2), width, length)

    def see(self, box: Box, frame_index: int) -> None:
        """Continue with this frame's box; its displacement per frame since the last one seen
        (over a gap, divided by the frames elapsed) is folded into the velocity."""
        elapsed = frame_index - self.last_seen
        if elapsed > 0:  # not the first box of a new track
            dx, dy = _moved(self.box, box)
            vx, vy = self.velocity
            vx += VELOCITY_WEIGHT * (dx / elapsed - vx)
            vy += VELOCITY_WEIGHT * (dy / elapsed - vy)
            self.velocity = (vx, vy)
            speed = math.dist(self.box.center, box.center) / elapsed
            self.pace += PACE_WEIGHT * (speed - self.pace) if self.pace else speed
        length = max(box.w, box.h)
        self.size += SIZE_WEIGHT * (length - self.size) if self.size else length
        self.box, self.last_seen = box, frame_index


def _moved(old: Box, new: Box) -> tuple[float, float]:
    """How far a swimmer moved from box `old` to box `new`: per axis, the shift of the edge that
    moved least. A blob's box grows or shrinks at one end (legs come into view, a lane-mate's
    faint arm joins it, the swimmer goes under head first) while the other end follows the
    swimmer; its centre moves by half that change, which the velocity took for a stroke. On the
    club session, three abreast, s9's box gained a faint tail of 40 px: its centre went 13 px
    down in a frame while s9 swam 3 px up. The same enrolments, centre -> least edge: tracks
    on swimmers 28, 28, 29 -> 28, 28, 30, named right 99.08 -> 99.07 % on average; layout 1
    130 -> 129 tracks (on one for a second or more 93 -> 88), 98.47 -> 98.59 %; hard edges
    (seed 0) 68 -> 62 tracks, 97.66 -> 97.67 %. The pace (`_in_reach`) stays the centre's: a
    box shrinking into the wall as its swimmer goes under still widens the reach back."""

    def least(start: int, end: int) -> int:
        return start if abs(start) <= abs(end) else end

    return (
        least(new.x - old.x, new.x + new.w - old.x - old.w),
        least(new.y - old.y, new.y + new.h - old.y - old.h),
    )


class Tracker:
    """Tracks of one camera. `namer` names tracks from their mean descriptors; `lane_of` (a
    box's lane, PoolGeometry.lane_of; None = lanes unknown) forbids lane jumps."""

    def __init__(self, cfg: TrackerConfig, namer: Namer, lane_of: LaneOf | None = None) -> None:
        check_section(cfg)
        self.cfg = cfg
        self.namer = namer
        # Each track is checked against each box for its lane, some 900 times a frame on the
        # club session: the lanes of the boxes are remembered (a box's lane never changes).
        # Same tracks; `update` 16.2 -> 13.8 ms a frame there (with the crops it describes).
        remember = functools.lru_cache(maxsize=LANES_REMEMBERED)
        self.lane_of = remember(lane_of) if lane_of is not None else None
        self._tracks: list[_Track] = []
        self._waiting: list[_Track] = []  # announced, lost, waiting for their swimmer (rejoin)
        self._now = -1  # the last frame fed
        self._ids = itertools.count(1)
        self._keys = itertools.count(1)
        self._homes = LaneHomes()  # the lane each swimmer keeps to (`_count_lanes`)
        self._parts: set[Box] = set()  # the boxes `separate` cut this frame
        self._trimmed: dict[Box, _Track] = {}  # a part `_trim` cut off -> the track cut from
        # Per detection of the last update, its box (as `separate` cut it: what the daemon
        # crops) and the key of the track it joined: what reid-collect files each crop under,
        # announced or not yet.
        self.boxes: list[Box] = []
        self.keys: list[int] = []

    def update(
        self,
        frame_index: int,
        detections: Sequence[Detection],
        descriptors: np.ndarray | Describe,
    ) -> list[TrackChange]:
        """Feed one frame's detections with their crops' descriptors: all of them (same order
        and length), or a `describe` callback asked for the crops the schedule wants."""
        if not callable(descriptors) and len(detections) != len(descriptors):
            raise ValueError(f"{len(detections)} detections but {len(descriptors)} descriptors")
        self._now = frame_index
        changes = self._expire(frame_index)
        describe = descriptors if callable(descriptors) else np.asarray(descriptors).__getitem__
        boxes = [d.box for d in detections]
        rows: dict[int, np.ndarray] = {}  # descriptors asked for, by detection
        tracks = self._link(boxes, describe, rows, frame_index)
        scheduled = callable(descriptors)
        described = self._describe(tracks, boxes, describe, rows, scheduled, frame_index)
        for box, track in zip(boxes, tracks, strict=True):
            if track is not None:
                track.see(box, frame_index)
                if box not in self._parts:
                    track.apart += 1
                    track.width = box.w
        self.boxes = boxes
        self.keys = [(t or self._trimmed[b]).key for b, t in zip(boxes, tracks, strict=True)]
        self._parts, self._trimmed = set(), {}
        if described or changes:  # no new crop and no track gone: answers stand
            changes += self._name(frame_index)
        self._count_lanes(frame_index)
        return changes

    def _link(
        self, boxes: list[Box], describe: Describe, rows: dict[int, np.ndarray], frame_index: int
    ) -> list[_Track | None]:
        """Per box, the track it continues (followed by motion, else recognised by its look
        among the boxes left) or a new one; None for a part `_trim` cut off that no waiting
        track took. The descriptors it asked for are left in `rows`."""
        pairs = self._match(boxes, frame_index)
        left = [i for i in range(len(boxes)) if i not in pairs]
        returning = self._returning(pairs)
        if left and returning:
            rows.update(zip(left, np.asarray(describe(left)), strict=True))
            pairs.update(self._recognise(boxes, rows, frame_index, returning))
        tracks: list[_Track | None] = []
        for index, box in enumerate(boxes):
            track = pairs.get(index)
            if track is None and box in self._trimmed:
                tracks.append(None)  # cut off in vain: the rest of its blob has its track
                continue
            if track is None:
                track = _Track(box, frame_index, next(self._keys))
                self._tracks.append(track)
            tracks.append(track)
        return tracks

    def _describe(
        self,
        tracks: list[_Track | None],
        boxes: list[Box],
        describe: Describe,
        rows: dict[int, np.ndarray],
        scheduled: bool,
        frame_index: int,
    ) -> bool:
        """Fold this frame's crops into their tracks' means: those described already and those
        the schedule wants (`_describes`). Whether there were any."""
        wanted = {
            i: t
            for i, t in enumerate(tracks)
            if t is not None and (i in rows or self._describes(t, boxes[i], scheduled, frame_index))
        }
        asked = [i for i in wanted if i not in rows]
        rows.update(zip(asked, np.asarray(describe(asked)) if asked else [], strict=True))
        for i, track in wanted.items():
            row = np.asarray(rows[i], np.float32)
            track.describe(row, frame_index, self.cfg.identity_frames)
        return bool(wanted)

    def _name(self, frame_index: int) -> list[TrackChange]:
        """Name the settled tracks all together (one swimmer, one place) and announce what
        changed."""
        settled = [t for t in self._tracks if t.crops >= self.cfg.settle_crops]
        if not settled:
            return []
        holding = [t.naming.swimmer_id for t in settled]
        away = {t.naming.swimmer_id for t in self._waiting} - {None}
        at_home = self._at_home(settled)
        namings = self.namer(np.stack([t.mean() for t in settled]), holding, away, at_home)
        self._swap_ids(settled, namings, frame_index)
        continued = self._rejoin(settled, namings, frame_index)
        changes = []
        for track, naming in zip(settled, namings, strict=True):
            if track not in continued:
                changes.extend(self._announce(track, naming, frame_index))
        return changes

    def _swap_ids(self, tracks: list[_Track], namings: list[Naming], frame_index: int) -> None:
        """Two announced tracks in one lane whose names swap have swapped swimmers (where the
        look settled a pass or a turn wrong, the names follow within FRESH_FRAMES): their ids
        and answers swap with them, so a track id stays one swimmer's and nothing is announced
        (the second of the pair then holds its new name already). Tracks in two lanes never
        swap swimmers; their new names are announced."""
        given = {t: n.swimmer_id for t, n in zip(tracks, namings, strict=True)}
        holder = {t.naming.swimmer_id: t for t in tracks
                  if t.track_id is not None and t.naming.swimmer_id is not None}  # fmt: skip
        for track in tracks:
            before, after = track.naming.swimmer_id, given[track]
            other = holder.get(after) if before in holder and before != after else None
            if (
                other is not None
                and given[other] == before
                and self._same_lane(track.box, other.box)
            ):
                track.track_id, other.track_id = other.track_id, track.track_id
                track.naming, other.naming = other.naming, track.naming
                track.changed = other.changed = frame_index
                log.debug("tracks %d and %d swapped swimmers", track.track_id, other.track_id)

    def _at_home(self, tracks: list[_Track]) -> list[set[str]]:
        """Per track, the swimmers whose home is its lane (edge/tracking/lane_homes.py)."""
        homes = self._homes.by_lane()
        if not homes or self.lane_of is None:
            return [set() for _ in tracks]
        return [homes.get(self.lane_of(t.box), set()) for t in tracks]

    def _count_lanes(self, frame_index: int) -> None:
        """Count this frame for each swimmer an announced track seen in it (`visible`) names,
        in its lane."""
        if self.lane_of is None:
            return
        named = [(v.swimmer_id, self.lane_of(v.box)) for v in self.visible]
        self._homes.count(frame_index, [(s, lane) for s, lane in named if s is not None])

    def separate(self, detections: Sequence[Detection], frame_index: int) -> list[Detection]:
        """`detections` with every box that holds the predicted centres of two or more live
        tracks (seen apart for SEPARATE_AFTER frames), and is about as long as their boxes
        together, cut in that many parts half way between the centres (across the way they
        lie: one behind the other, or side by side). Two swimmers close together are one blob,
        and one box for two tracks loses one of them and gives the other a crop of both."""
        out = []
        apart = [t.expected(frame_index) for t in self._tracks if t.apart >= SEPARATE_AFTER]
        # Each followed track with where it should be now, for `_trim`: only a swimmer waiting
        # (back from a turn under water) is ever cut off, so none when nobody waits.
        followed = [(t, t.predicted(frame_index)) for t in self._tracks
                    if self._waiting and frame_index - t.last_seen <= FOLLOW_GAP]  # fmt: skip
        boxes = [d.box for d in detections]
        holds_apart = _centres_in(boxes, apart)
        holds_followed = _centres_in(boxes, [predicted for _, predicted in followed])
        for detection, apart_row, followed_row in zip(
            detections, holds_apart, holds_followed, strict=True
        ):
            box = detection.box
            inside = [apart[i] for i in np.flatnonzero(apart_row)]
            if len(inside) > 1:
                parts = cut_between(box, inside)
            else:
                holding = [followed[i] for i in np.flatnonzero(followed_row)]
                parts = self._trim(box, holding, frame_index)
            if len(parts) > 1:
                self._parts.update(parts)
            out.extend(Detection(part, detection.score) for part in parts)
        return out

    def _trim(self, box: Box, holding: list[tuple[_Track, Box]], frame_index: int) -> list[Box]:
        """`box` in two when it holds one followed track's predicted centre (`holding`: the
        followed tracks whose predicted centre it holds, with their predicted boxes), reaches
        well past its predicted box (`split_off`), and a track waiting in the lane (its swimmer
        under water after a turn) can have got to that part: surfacing close behind or beside a
        lane-mate, the swimmer is one blob with it, and the lane-mate's track would take the
        blob and leave the swimmer untracked until they part. The part goes to the waiting
        track only if it looks more like it than like the lane-mate (`_recognise`); else it is
        the lane-mate's splash or reach, and nobody's."""
        if len(holding) != 1:
            return [box]
        track, predicted = holding[0]
        split = split_off(box, predicted)
        if split is None:
            return [box]
        excess = split[1]
        if any(self._same_lane(t.box, excess)
               and _in_reach(t, t.predicted(frame_index), excess, frame_index)
               for t in self._waiting):  # fmt: skip
            self._trimmed[excess] = track
            return list(split)
        return [box]

    def _describes(self, track: _Track, box: Box, scheduled: bool, frame_index: int) -> bool:
        """Whether this frame's crop of `track` goes into its mean: on a schedule, only when
        `_wants` it; and not a part `separate` cut from a blob of two once the track has crops
        of its own. Cut half way between two swimmers, a part holds some of the other one: on
        the club session such crops pulled lane-mates' means together until their names swapped
        (named right 94.4 -> 95.9 %, and 83.6 -> 85.1 % with the real crops' bundle)."""
        if box in self._parts and track.crops >= self.cfg.settle_crops:
            return False
        return not scheduled or self._wants(track, frame_index)

    def _wants(self, track: _Track, frame_index: int) -> bool:
        """Whether this frame's crop of `track` must be described (the embedding budget)."""
        cfg = self.cfg
        return (
            track.track_id is None  # new or not yet settled
            or frame_index - track.last_seen > 1  # back from a gap: is it still the same one?
            or frame_index - track.changed < cfg.settle_crops  # its answer just changed
            or frame_index - track.described >= cfg.embed_interval
        )

    def finish(self) -> list[TrackChange]:
        """End every announced track (at shutdown or the end of the input)."""
        ending = [t for t in self._tracks if t.track_id is not None] + self._waiting
        self._tracks, self._waiting = [], []
        return [self._end(t) for t in ending]

    @property
    def visible(self) -> list[TrackView]:
        """The announced tracks seen in the last frame (what a snapshot or a scorer shows)."""
        return [TrackView(t.track_id, t.naming.swimmer_id, t.box) for t in self._tracks
                if t.track_id is not None and t.last_seen == self._now]  # fmt: skip

    @property
    def active(self) -> int:
        """Announced tracks alive now (for stats)."""
        return sum(t.track_id is not None for t in self._tracks)

    def _expire(self, frame_index: int) -> list[TrackChange]:
        """End tracks unseen for more than max_missed frames; an announced one waits
        rejoin_frames more for its swimmer to come back."""
        cfg = self.cfg
        gone = [t for t in self._tracks if frame_index - t.last_seen > cfg.max_missed]
        self._tracks = [t for t in self._tracks if t not in gone]
        ending = []
        for track in (t for t in gone if t.track_id is not None):
            (self._waiting if cfg.rejoin_frames else ending).append(track)
        ending += [t for t in self._waiting if frame_index - t.last_seen > cfg.patience]
        self._waiting = [t for t in self._waiting if t not in ending]
        return [self._end(t) for t in ending]

    def _rejoin(self, tracks: list[_Track], namings: list[Naming], frame_index: int) -> set[_Track]:
        """New tracks named the swimmer of an announced track out of sight in their lane
        continue such a track: each takes over its id (nothing is announced) and the track it
        continues is dropped. Out of sight is waiting (the swimmer turned under water) or not
        seen this frame: a swimmer whose blob fell in pieces at a wall or half under a
        lane-mate has its track lose it to a piece, which the naming may then give the
        swimmer. Of two or more such tracks in the lane, the one whose mean it is most like
        is continued, with that track's answer: a swimmer surfacing in a splash looks more
        like its own track a few seconds ago than like the gallery's crops of it from the
        session's start. The tracks continued are returned (`namings` is updated)."""
        out_of_sight = self._waiting + [
            t for t in tracks if t.track_id is not None and t.last_seen < frame_index
        ]
        continued = set()
        for i, (track, naming) in enumerate(zip(tracks, namings, strict=True)):
            if track.track_id is not None or naming.swimmer_id is None:
                continue
            here = [t for t in out_of_sight if self._same_lane(t.box, track.box)]
            if naming.swimmer_id not in {t.naming.swimmer_id for t in here}:
                continue
            mean = _unit_mean(track)
            lost = max(here, key=lambda t: float(np.dot(mean, _unit_mean(t))))
            if lost.naming.swimmer_id != naming.swimmer_id:  # the look outweighs the gallery
                namings[i] = naming = lost.naming
            track.track_id, track.naming, track.changed = lost.track_id, naming, lost.changed
            out_of_sight.remove(lost)
            continued.add(lost)
            log.debug("track %d back as swimmer %s", track.track_id, naming.swimmer_id)
        self._waiting = [t for t in self._waiting if t not in continued]
        self._tracks = [t for t in self._tracks if t not in continued]
        return continued

    def _awaited(self, track: _Track) -> bool:
        """Whether a track waits for its swimmer in this new track's lane. A new track that no
        one can be named yet is then not announced: it may be that swimmer back from a turn,
        its first crops a splash, and once named it continues the waiting track (`_rejoin`). A
        stranger is announced when the wait ends."""
        return any(self._same_lane(w.box, track.box) for w in self._waiting)

    def _end(self, track: _Track) -> TrackChange:
        assert track.track_id is not None
        naming = track.naming
        return TrackChange("end", track.track_id, naming.swimmer_id, naming.score, track.box,
                           track.key)  # fmt: skip

    def _announce(self, track: _Track, naming: Naming, frame_index: int) -> list[TrackChange]:
        if track.track_id is None and naming.swimmer_id is None and self._awaited(track):
            return []
        before, track.naming = track.naming, naming
        if track.track_id is None:
            track.track_id, track.changed = next(self._ids), frame_index
            log.debug("track %d is swimmer %s", track.track_id, naming.swimmer_id)
            kind = "new"
        elif naming.swimmer_id != before.swimmer_id:
            kind, track.changed = "update", frame_index
        else:
            return []
        return [TrackChange(kind, track.track_id, naming.swimmer_id, naming.score, track.box,
                            track.key)]  # fmt: skip

    def _match(self, boxes: list[Box], frame_index: int) -> dict[int, _Track]:
        """Detection index -> continued track, for the tracks seen within FOLLOW_GAP frames
        whose predicted box overlaps one box (IoU at least `min_iou`) that overlaps no other
        track's: overlaps shared either way are for the look to settle (`_recognise`)."""
        tracks = [t for t in self._tracks if frame_index - t.last_seen <= FOLLOW_GAP]
        predicted = [t.predicted(frame_index) for t in tracks]
        # Only the pairs that share pixels can reach a positive `min_iou`: some 24 of 576 on
        # the club session, found all at once (2 ms a frame, one IoU at a time); then the
        # overlap, then the lane (a cache lookup, hashing the box).
        pairs = _touching(predicted, boxes) | (self.cfg.min_iou <= 0)
        overlaps = [(int(ti), int(di)) for ti, di in zip(*np.nonzero(pairs), strict=True)
                    if predicted[ti].iou(boxes[di]) >= self.cfg.min_iou
                    and self._same_lane(tracks[ti].box, boxes[di])]  # fmt: skip
        per_track = Counter(ti for ti, _ in overlaps)
        per_box = Counter(di for _, di in overlaps)
        return {di: tracks[ti] for ti, di in overlaps if per_track[ti] == per_box[di] == 1}

    def _returning(self, followed: dict[int, _Track]) -> list[_Track]:
        """The tracks that may continue on a box no followed track took: the live ones not
        followed this frame, and those waiting for their swimmer."""
        taken = set(followed.values())
        return [t for t in self._tracks if t not in taken] + self._waiting

    def _recognise(
        self,
        boxes: list[Box],
        rows: dict[int, np.ndarray],
        frame_index: int,
        tracks: list[_Track],
    ) -> dict[int, _Track]:
        """Boxes no followed track took (with their descriptors) -> which of `tracks` they
        continue: in its lane and in reach (`_in_reach`), the most alike first, then the most
        overlapping, then the nearest (reid-collect links tracks without descriptors: all
        alike), where a track followed up to now pays for boxes off its way (`_weigh_motion`),
        the waiting track lost first is favoured over those lost after it (`_weigh_order`), and
        an announced track over one still settling, where there is a look (`_weigh_settled`).
        After a turn under water, a blob shared while passing, or a jump away from the
        predicted box, a lane-mate is as near as the swimmer itself, and only the look tells
        them apart: a track is contested when it had another box in reach, or its box another
        track, and its mean starts again from there (`_Track.mean`). A waiting track matched is
        live again."""
        candidates = []
        for ti, track in enumerate(tracks):
            predicted, mean = track.predicted(frame_index), _unit_mean(track)
            for di, row in rows.items():
                box = boxes[di]
                if self._same_lane(track.box, box) and _in_reach(
                    track, predicted, box, frame_index
                ):
                    alike, overlap = float(np.dot(row, mean)), predicted.iou(box)
                    cut_from = self._trimmed.get(box)
                    if cut_from is not None and alike <= float(np.dot(row, _unit_mean(cut_from))):
                        continue
                    dist = _apart(predicted, box)
                    candidates.append((-alike, -overlap, dist, ti, di))
        candidates = _weigh_motion(candidates, tracks, frame_index)
        candidates = _weigh_order(candidates, tracks, self._waiting)
        if self.namer is not name_no_one:  # reid-collect links by boxes alone: no look to mend
            candidates = _weigh_settled(candidates, tracks)
        chosen = _greedy(candidates)
        per_track = Counter(ti for *_, ti, _ in candidates)
        per_box = Counter(di for *_, di in candidates)
        for di, ti in chosen.items():
            if per_track[ti] > 1 or per_box[di] > 1:
                tracks[ti].contested = frame_index
        pairs = {di: tracks[ti] for di, ti in chosen.items()}
        for track in pairs.values():
            if track in self._waiting:
                self._waiting.remove(track)
                self._tracks.append(track)
        return pairs

    def _same_lane(self, a: Box, b: Box) -> bool:
        """Lanes known: the same lane. Unknown: no further sideways than a box width."""
        if self.lane_of is not None:
            return self.lane_of(a) == self.lane_of(b)
        return abs(a.center[0] - b.center[0]) <= max(a.w, b.w)


def _centres_in(boxes: list[Box], others: list[Box]) -> np.ndarray:
    """(len(boxes), len(others)) bool: whether each box holds each other box's centre (as
    `Box.contains` does), all at once: some 24 x 24 a frame on the club session."""
    box, other = _array(boxes)[:, None], _array(others)[None]
    centre = other[..., :2] + other[..., 2:] / 2.0
    return ((box[..., :2] <= centre) & (centre < box[..., :2] + box[..., 2:])).all(axis=-1)


def _touching(a: list[Box], b: list[Box]) -> np.ndarray:
    """(len(a), len(b)) bool: whether each pair of boxes shares pixels."""
    first, second = _array(a)[:, None], _array(b)[None]
    start = np.maximum(first[..., :2], second[..., :2])
    end = np.minimum(first[..., :2] + first[..., 2:], second[..., :2] + second[..., 2:])
    return (end > start).all(axis=-1)


def _array(boxes: list[Box]) -> np.ndarray:
    """(len(boxes), 4) int: x, y, w, h per row (none: an empty (0, 4))."""
    return np.array([box.as_list() for box in boxes], int).reshape(-1, 4)


def _unit_mean(track: _Track) -> np.ndarray:
    """The track's mean descriptor, of length 1: its dot with a crop's is their cosine."""
    mean = track.mean()
    return mean / (np.linalg.norm(mean) or 1.0)


def _apart(predicted: Box, box: Box) -> float:
    """How far `box` lies from `predicted`, in px along the predicted box's longer side: a
    swimmer's width sideways counts as its length along the lane. Lane-mates passing side by
    side are a width apart, a third of a length: counted in lengths alone, 30 px sideways of a
    40 x 100 px box cost 0.06 of cosine (MOTION_WEIGHT), less than one crop's noise. The same
    enrolments of the club session, lengths alone -> this: tracks on swimmers 28, 28, 30 ->
    28, 26, 28, named right 99.07 -> 99.16 % on average; layout 1 129 -> 122 tracks, 98.59 ->
    98.73 %; hard edges (seed 0) 62 -> 57, 97.67 -> 97.97 %."""
    (px, py), (bx, by) = predicted.center, box.center
    length = max(predicted.w, predicted.h, 1)
    return math.hypot(
        (bx - px) * length / max(predicted.w, 1), (by - py) * length / max(predicted.h, 1)
    )


def _weigh_motion(candidates: list[tuple], tracks: list[_Track], frame_index: int) -> list:
    """`candidates` with MOTION_WEIGHT per box size added to the first cost of a track
    followed up to now, for each box farther from its prediction than its nearest box: no
    cost for the box motion would choose, so the look alone weighs between tracks. And from
    the other side: a track not followed (back from a gap or a turn) pays as much for a box
    that a followed track's prediction is nearest to, per box size it lies farther from its
    own than from that one's. At a turn on the club session, swimmer 2's crop was 0.19 like
    its own track, 2 px from its prediction, and 0.32 like lane-mate 3's, waiting 224 px
    away: 3's track took 2, and the two held each other's names for 117 frames."""
    nearest: dict[int, float] = {}
    for *_, dist, ti, _ in candidates:
        nearest[ti] = min(nearest.get(ti, math.inf), dist)
    followed = {ti for *_, ti, _ in candidates if frame_index - tracks[ti].last_seen <= FOLLOW_GAP}
    held: dict[int, float] = {}  # box -> distance from the followed track it is nearest for
    for *_, dist, ti, di in candidates:
        if ti in followed and dist == nearest[ti]:
            held[di] = min(held.get(di, math.inf), dist)
    weighed = []
    for unlike, overlap, dist, ti, di in candidates:
        free = nearest[ti] if ti in followed else held.get(di, math.inf)  # no cost up to here
        if dist > free:
            box = tracks[ti].box
            unlike += MOTION_WEIGHT * (dist - free) / max(box.w, box.h)
        weighed.append((unlike, overlap, dist, ti, di))
    return weighed


def _weigh_order(candidates: list[tuple], tracks: list[_Track], waiting: list[_Track]) -> list:
    """`candidates` with ORDER_WEIGHT off the first cost of the waiting track lost first, for
    each box that two or more waiting tracks could continue (a tie favours none)."""
    waiting_for: dict[int, list[_Track]] = {}
    for *_, ti, di in candidates:
        if tracks[ti] in waiting:
            waiting_for.setdefault(di, []).append(tracks[ti])
    first = {}
    for di, rivals in waiting_for.items():
        lost = sorted(rivals, key=lambda t: t.last_seen)
        if len(lost) > 1 and lost[0].last_seen < lost[1].last_seen:
            first[di] = lost[0]
    weighed = []
    for unlike, overlap, dist, ti, di in candidates:
        if first.get(di) is tracks[ti]:
            unlike -= ORDER_WEIGHT
        weighed.append((unlike, overlap, dist, ti, di))
    return weighed


def _weigh_settled(candidates: list[tuple], tracks: list[_Track]) -> list:
    """`candidates` with SETTLED_WEIGHT on the first cost of a track not yet announced, for
    each box that an announced track could continue too."""
    announced = {di for *_, ti, di in candidates if tracks[ti].track_id is not None}
    weighed = []
    for unlike, overlap, dist, ti, di in candidates:
        if di in announced and tracks[ti].track_id is None:
            unlike += SETTLED_WEIGHT
        weighed.append((unlike, overlap, dist, ti, di))
    return weighed


def _greedy(candidates: list[tuple]) -> dict[int, int]:
    """Detection index -> track index from (cost..., track index, detection index) tuples, the
    cheapest first, each track and detection taken once."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for *_, ti, di in sorted(candidates):
        if ti not in used and di not in pairs:
            used.add(ti)
            pairs[di] = ti
    return pairs


def _in_reach(track: _Track, predicted: Box, box: Box, frame_index: int) -> bool:
    """Whether the swimmer of `track` can have got to `box`: within its usual box length of its
    `predicted` or its last box, plus its pace over the frames since it was seen (it may have
    turned at a wall, under water, and come back near where it went under, or a glide away)."""
    distance = min(math.dist(predicted.center, box.center), math.dist(track.box.center, box.center))
    swum = track.pace * (frame_index - track.last_seen - 1)
    return distance <= MAX_JUMP_BOXES * track.size + swum
