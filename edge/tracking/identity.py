"""Who each live track is: one swimmer, one place.

A single crop says little an hour into a session (light and framing drift, a stranger may wear
a known swimmer's cap), so identity is decided per track and for all live tracks together:
- a track is described by the mean of its recent crops' descriptors, scored against every
  enrolled swimmer (`Classifier.similarities`: the nearest gallery row's cosine);
- a swimmer is in one place at a time, so among the tracks alive together each swimmer is
  given to at most one track, the assignment that maximises the total similarity, with
  "unknown" open to every track at the bundle's `track_threshold`.
A stranger who looks like swimmer 5 is then answered unknown whenever swimmer 5 is in the water
and looks more like itself; a stranger alone is unknown below the threshold. A track keeps the
swimmer it holds unless another track beats it by more than `HOLD_MARGIN`, so two tracks that
look alike (a track that broke in two, a swimmer and its lookalike) do not swap names frame by
frame. Two tracks that hold two swimmers exchange them only when each looks more like the
other's swimmer by `HOLD_MARGIN`, not when their total gains by twice that: one track's mean
drifting towards its lane-mate (the far end of the lane, a splash) says nothing of the other,
and lane-mates in one club's cap and suit differ by build alone. On the club session, s3 and s9
(black cap, red jammer, the same skin; single crops of either are named each 50:50) were named
the wrong way round for 1127 frames in two minutes, on totals, their tracks on the right
swimmers; with this rule 219, all after a turn where their tracks did swap (which first under,
first up now prevents: edge/tracking/track.py). A swimmer whose track lost it a moment ago
(under water after a turn) is still in that place, so a track holding someone else does not take
it meanwhile: on the club session, a swimmer's track took its lane-mate's name at every one of
the lane-mate's turns, for the second it was under. A track holding no one yet may take it: that
may be the swimmer back. And swimmers keep to their lanes: a track in the lane a swimmer has
been named in through the last minute or so (lane_homes.py) keeps that swimmer against a track
in another lane that looks more like it by less than `HOME_MARGIN`. Lookalikes in two lanes (the
same cap and suit) then stay apart when the light makes each look a little more like the other.
On the club session with every crop described, two such swimmers were named the wrong way round
for 17 % of their frames; with this, not once. The margin is only a preference: a swimmer who
moved lanes and looks clearly like itself is named there at once (and the new lane becomes
home).

`assign` is the Hungarian method (Kuhn-Munkres) written out in numpy, because the device has no
scipy; a test checks it against `scipy.optimize.linear_sum_assignment`. Where every track's best
answer is its own, that is the answer, without the search.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

HOLD_MARGIN = 0.02  # cosine a rival track must gain over the track holding a swimmer
# ...and over a track in the swimmer's own lane. Club session (3000 frames, one enrolment),
# named right: 95.6 -> 96.2 % (trained bundle), 84.6 -> 87.4 % (real crops' bundle), 94.3 ->
# 96.2 % with every crop described; 0.05 gave 96.0, 87.3, 95.9 %; 0.20 gave 96.5, 87.4 %.
HOME_MARGIN = 0.10


@dataclass(frozen=True)
class Naming:
    """A track's answer: the swimmer (None = unknown) and the similarity behind it (the best
    swimmer's when unknown)."""

    swimmer_id: str | None
    score: float


def name_tracks(
    similarities: np.ndarray,
    classes: Sequence[str],
    threshold: float,
    holding: Sequence[str | None] = (),
    away: Collection[str] = (),
    home: Sequence[Collection[str]] = (),
) -> list[Naming]:
    """One `Naming` per row of `similarities` (tracks x enrolled swimmers, in `classes` order);
    `holding[i]`: the swimmer track i was last given, which it keeps against a rival that is
    better by less than `HOLD_MARGIN`, and against an exchange with another holder unless each
    gains that much (never below the threshold); `away`: swimmers out of sight for a moment,
    whom no track holding another swimmer is given; `home[i]`: the swimmers whose lane track i
    is in, favoured by `HOME_MARGIN` (never below the threshold)."""
    sims = np.asarray(similarities, dtype=np.float64)
    if sims.size == 0:
        return [Naming(None, -1.0) for _ in range(len(sims))]
    favoured = sims.copy()
    for row, swimmers in enumerate(home):
        for swimmer in swimmers:
            column = classes.index(swimmer)
            if sims[row, column] >= threshold:
                favoured[row, column] += HOME_MARGIN
    held: list[int | None] = [None] * len(sims)  # the column a track holds, at the threshold
    for row, swimmer in enumerate(holding):
        if swimmer is not None:
            column = classes.index(swimmer)
            if sims[row, column] >= threshold:
                favoured[row, column] += HOLD_MARGIN
                held[row] = column
            for other in set(away) - {swimmer}:
                favoured[row, classes.index(other)] = threshold - 1.0  # below: never given
    chosen = assign(favoured, threshold)
    _undo_one_sided_exchanges(sims, held, chosen)
    return [
        Naming(classes[j], float(sims[i, j])) if j is not None else Naming(None, float(row.max()))
        for i, (row, j) in enumerate(zip(sims, chosen, strict=True))
    ]


def _undo_one_sided_exchanges(
    sims: np.ndarray, held: Sequence[int | None], chosen: list[int | None]
) -> None:
    """Give back (in `chosen`) the swimmers two tracks exchanged, unless each track looks
    more like the other's swimmer by HOLD_MARGIN. `held[i]`: the column track i holds (None:
    no one, or a swimmer now below the threshold, whom it may lose)."""
    moved = [i for i, column in enumerate(held) if column is not None and chosen[i] != column]
    for i, j in itertools.combinations(moved, 2):
        a, b = held[i], held[j]
        exchanged = (chosen[i], chosen[j]) == (b, a)
        if exchanged and min(sims[i, b] - sims[i, a], sims[j, a] - sims[j, b]) <= HOLD_MARGIN:
            chosen[i], chosen[j] = a, b


def assign(similarities: np.ndarray, threshold: float) -> list[int | None]:
    """Per row, the column it is given (None: unknown), each column to at most one row, the
    total similarity as high as it can be, where unknown is worth `threshold` to a row: a row is
    never given a column it scores below the threshold."""
    sims = np.asarray(similarities, dtype=np.float64)
    n, m = sims.shape
    # Every row gets a private "unknown" column worth the threshold; other rows cannot take it.
    forbidden = sims.min(initial=threshold) - 1.0 - n * (abs(threshold) + np.abs(sims).max())
    unknown = np.full((n, n), forbidden)
    np.fill_diagonal(unknown, threshold)
    benefit = np.hstack([sims, unknown])
    columns = _own_best(benefit)
    if columns is None:
        columns = hungarian(benefit.max() - benefit)
    return [int(j) if j < m else None for j in columns]


def _own_best(benefit: np.ndarray) -> list[int] | None:
    """Each row's best column, when every row has one of its own (strictly best in the row, no
    other row's best): no assignment does better, and no search is needed. So it is most frames
    of a session, each settled track plainly its swimmer; the search cost a millisecond a frame
    with 24 tracks on the club session."""
    if benefit.shape[1] < 2:
        return None
    best = benefit.argmax(axis=1)
    top_two = np.partition(benefit, -2, axis=1)[:, -2:]
    if len(set(best.tolist())) < len(best) or np.any(top_two[:, 0] >= top_two[:, 1]):
        return None
    return best.tolist()


def hungarian(cost: np.ndarray) -> list[int]:
    """For an (n, m) cost matrix with n <= m: the column of each row, all distinct, with the
    least total cost (shortest augmenting paths with potentials, O(n^2 m))."""
    cost = np.asarray(cost, dtype=np.float64)
    n, m = cost.shape
    if n > m:
        raise ValueError(f"need no more rows than columns, got {n}x{m}")
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[j]: 1-based row holding column j (0: free)
    for row in range(1, n + 1):
        owner[0], j0 = row, 0
        slack, via = np.full(m + 1, np.inf), np.zeros(m + 1, dtype=np.int64)
        used = np.zeros(m + 1, dtype=bool)
        while owner[j0] != 0:
            used[j0] = True
            i0, free = owner[j0], ~used
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free[1:] & (reduced < slack[1:])
            slack[1:][better], via[1:][better] = reduced[better], j0
            j1 = int(np.argmin(np.where(free[1:], slack[1:], np.inf))) + 1
            delta = slack[j1]
            u[owner[used]] += delta
            v[used] -= delta
            slack[free] -= delta
            j0 = j1
        while j0:
            j1 = via[j0]
            owner[j0], j0 = owner[j1], j1
    columns = [0] * n
    for j in range(1, m + 1):
        if owner[j]:
            columns[owner[j] - 1] = j - 1
    return columns
