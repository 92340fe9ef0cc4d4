"""Session drift: does a swimmer enrolled at the start of a session stay recognised an hour in?

A pool session's swimmers are enrolled from its first minutes, then watched for an hour while
light, framing and the rope's place in the crop change. A time split whose test frames sit just
after the training frames hides that drift: frames a few seconds apart look alike. So the
protocol fits on each swimmer's earliest frames (`FIT_FRACTION`) and tests on successive later
bins after a gap, nearest first; every design choice (descriptor, score, threshold) is judged
on the **farthest** bin, and figures are reported per bin so the drift shows.

Identity is a track's: `windows` cuts each swimmer's crops in a bin into the runs of
consecutive crops that a track would collect (`TRACK_LENGTH`), and a track is judged by the mean
of its descriptors (edge/tracking/identity.py does the same on the device).

bench/drift.py runs the protocol on the real crops (bench/results/drift.json).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from train.data import DEFAULT_GAP_FRAMES, Sample

FIT_FRACTION = 0.5  # each swimmer's earliest half of its frames: the enrollment at the start
DRIFT_BINS = 3  # later frames in this many consecutive bins, nearest first
TRACK_LENGTH = 15  # crops per track: the daemon's default tracker.vote_window


@dataclass(frozen=True)
class DriftSplit:
    """`fit`: the earliest frames; `bins[k]`: the k-th later bin (bins[-1] is the farthest)."""

    fit: list[Sample]
    bins: list[list[Sample]]


def drift_split(
    samples: list[Sample],
    fit_fraction: float = FIT_FRACTION,
    bins: int = DRIFT_BINS,
    gap: int = DEFAULT_GAP_FRAMES,
) -> DriftSplit:
    """Per identity, in frame order: the first `fit_fraction` of its crops to fit on, `gap`
    frames dropped, the rest in `bins` consecutive bins of (nearly) equal size."""
    if not 0 < fit_fraction < 1 or bins < 1:
        raise ValueError(f"need 0 < fit_fraction < 1 and bins >= 1, got {fit_fraction}, {bins}")
    by_identity: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_identity[sample.identity].append(sample)
    fit: list[Sample] = []
    later: list[list[Sample]] = [[] for _ in range(bins)]
    for identity in sorted(by_identity):
        items = sorted(by_identity[identity], key=lambda s: s.frame)
        n_fit = max(1, round(len(items) * fit_fraction))
        fit += items[:n_fit]
        rest = [s for s in items[n_fit:] if s.frame > items[n_fit - 1].frame + gap]
        for k, part in enumerate(np.array_split(np.arange(len(rest)), bins)):
            later[k] += [rest[i] for i in part]
    return DriftSplit(fit, later)


def windows(labels: np.ndarray, length: int = TRACK_LENGTH) -> list[np.ndarray]:
    """Row indices of every run of `length` consecutive rows of one identity (rows in time
    order per identity, as `drift_split` lists them): the tracks a swimmer could have formed,
    one starting at each crop. An identity with fewer rows gives one shorter track."""
    labels = np.asarray(labels)
    tracks = []
    for identity in dict.fromkeys(labels.tolist()):
        rows = np.flatnonzero(labels == identity)
        n = min(length, len(rows))
        tracks += [rows[i : i + n] for i in range(len(rows) - n + 1)]
    return tracks


def track_means(descriptors: np.ndarray, tracks: list[np.ndarray]) -> np.ndarray:
    """(n_tracks, d) unit rows: each track's mean descriptor."""
    means = np.stack([np.asarray(descriptors, np.float32)[rows].mean(axis=0) for rows in tracks])
    return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), np.float32(1e-12))


def rate(flags: np.ndarray) -> float | None:
    """The share of true values, rounded for JSON; None for nothing to count."""
    flags = np.asarray(flags, bool)
    return round(float(flags.mean()), 4) if flags.size else None
