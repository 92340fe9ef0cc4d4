"""Who is in each `reid-collect` folder, by the pool simulator's truth: the person naming tracks
on the contact sheet, played by the truth, and the figures that say how well collecting went.

A kept crop shows the truth swimmer whose pasted crop (`crop_box`) holds the centre of its box,
or nobody. Not the truth `box`: that is where the crop's pixels stand out from its water, and in
a real crop with a faint swimmer it can be a few pixels of splash beside the swimmer.

A track is the swimmer most of its crops show; its purity is their share. A visit is a swimmer's
stay in view without a gap longer than the tracker's patience: one track per visit is the goal
(a visit split in two is two folders a person has to name).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from demo.score import holds
from edge.types import Box


@dataclass(frozen=True)
class CollectedTrack:
    name: str  # the folder, track_<n>
    swimmer: str | None  # who most of its crops show (None: nobody's box)
    crops: int
    right: int  # crops that show `swimmer`

    @property
    def purity(self) -> float:
        return self.right / self.crops if self.crops else 0.0


def collected_tracks(index: dict, truth: dict) -> list[CollectedTrack]:
    """Each track of a reid-collect index.json (parsed) against a poolsim truth JSON (parsed)."""
    frames = truth["frames"]
    tracks = []
    for track in index["tracks"]:
        shows = Counter(_shown(frames[c["frame"]], Box(*c["box"])) for c in track["crops"])
        swimmer, right = shows.most_common(1)[0]
        tracks.append(CollectedTrack(track["name"], swimmer, len(track["crops"]), right))
    return tracks


def visits(truth: dict, patience: int, min_frames: int) -> int:
    """Stays in view, over all swimmers (`stays`). A stay shorter than `min_frames` (the
    tracker's `settle_crops`: a swimmer's last strokes through a wall) cannot make a track, by
    design, and is not counted."""
    return sum(len(frames) >= min_frames for _, frames in stays(truth, patience))


def stays(truth: dict, patience: int) -> list[tuple[str, list[int]]]:
    """Each swimmer's stays in view, as (identity, the frame indices it is seen in): a swimmer
    unseen for more than `patience` frames and seen again starts a new stay."""
    seen: dict[str, list[int]] = {}
    for frame in truth["frames"]:
        for swimmer in frame["swimmers"]:
            seen.setdefault(swimmer["identity"], []).append(frame["index"])
    found = []
    for identity, frames in seen.items():
        breaks = [i + 1 for i, (a, b) in enumerate(pairwise(frames)) if b - a > patience + 1]
        found += [
            (identity, frames[start:end]) for start, end in pairwise([0, *breaks, len(frames)])
        ]
    return found


def write_names(tracks: list[CollectedTrack], path: Path) -> Path:
    """names.toml as the person would write it: each track's swimmer, "skip" for nobody's."""
    lines = [f'{t.name} = "{t.swimmer or "skip"}"' for t in tracks]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_index(folder: Path) -> dict:
    return json.loads((folder / "index.json").read_text())


def _shown(frame: dict, box: Box) -> str | None:
    x, y = box.center
    holding = [
        (box.iou(Box(*s["crop_box"])), s["identity"])
        for s in frame["swimmers"]
        if holds(s["crop_box"], x, y)
    ]
    return max(holding, default=(0.0, None))[1]
