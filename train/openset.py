"""Open set: when is a crop, or a track, a swimmer we do not know?

Scores: the cosine similarity between a descriptor (the CNN embedding of the crop cut down to
its swimmer, beside its colour signature; train.descriptor) and a swimmer's nearest enrolled
gallery descriptor (generally the mean over its `SCORE_NEIGHBOURS` nearest; one, by
measurement), in -1..1. A single crop (`reid-identify`) is scored against the SVM's candidate;
a track (the daemon) by the mean descriptor of its recent crops against every swimmer, and all
live tracks are named together (edge/tracking/identity.py). Below its threshold the answer is
"unknown". `edge.vision.classify` computes the same scores on the device; a test checks they agree.

Why thresholds from held-out *later* frames, and why two:
- Scores on the frames the CNN trained on say nothing: trained-on frames score 0.98-0.995 where
  unseen later frames of the same swimmer score far lower, and the gap grows with time. The
  thresholds are therefore quantiles of genuine scores of frames the CNN never saw, as late in
  each swimmer's video as the data goes (reid-train: the time split's later frames). A
  threshold set on frames a few seconds from the training frames refused 62 % of known crops
  later in the same videos (the session-identity issue); bench/drift.py calibrates on its
  middle bin and reports the farthest.
- A track's mean descriptor is steadier than a crop's, so its genuine scores sit higher and
  tighter: `TRACK_QUANTILE` of the scores of every run of `TRACK_LENGTH` held-out crops sets
  the track threshold, `GENUINE_QUANTILE` of single crops the crop threshold.
- Without held-out frames `calibrate` falls back to the midpoint between trained-on genuine and
  leave-identities-out impostor scores (nearly closed-set) and logs a warning.
- Both thresholds sit `DEVICE_SCORE_MARGIN` below their quantile: a Pi's int8 kernels are not
  the host's, and a crop the host accepts should not fall below on the Pi. The bundle's
  on-device check (edge/probes.py) refuses a device that computes unlike every runtime tested.
Enrollment scores the new swimmers' later crops (and runs of them) against their earlier ones
and everyone else (honest: the CNN never saw them) and lowers the thresholds only as far as
they need (`enrollment_thresholds`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from train.drift import TRACK_LENGTH, track_means, windows
from train.errors import TrainError

log = logging.getLogger(__name__)

SCORE_NEIGHBOURS = 1
HOLDOUT_FRACTION = 0.2  # without a holdout: each identity's last 20 % of gallery rows...
GAP_ROWS = 10  # ...after a gap, like the time split's later frames
GENUINE_QUANTILE = 0.02  # about 2 % of known swimmers' frames may be answered unknown
# The track threshold: the lowest held-out genuine track score. Tracks drift further than the
# held-out frames do: on bench/drift.py's farthest bin the 2nd percentile answered 4.3 % of known
# tracks unknown, the 0.5th 0.7 %, the lowest none (colour weight 0.6); a stranger's tracks
# still went unknown 47 % of the time alone and 87 % beside the swimmers it resembles.
TRACK_QUANTILE = 0.0
IMPOSTOR_QUANTILE = 0.90  # fallback only: the 90th percentile of leave-one-out impostors
# How far a Pi's scores may be from the host's. make pi-check (arm64 LiteRT under emulation
# against x86-64) measured at most 0.0026 on 60 held-out real crops and 0.0050 on the demo's
# synthetic ones; the tflite-runtime fallback moved them up to 0.0098 from LiteRT. The margin
# covers LiteRT, the runtime a Pi gets, and costs strangers: at 0.005 their tracks went unknown
# 47.0 % of the time alone on bench/drift.py's farthest bin (51.1 % without it, 40.5 % at 0.01);
# known swimmers' figures did not move.
DEVICE_SCORE_MARGIN = 0.005


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))


def identity_similarity(embeddings: np.ndarray, identity_gallery: np.ndarray) -> np.ndarray:
    """Per row: mean cosine similarity to its `SCORE_NEIGHBOURS` nearest gallery rows."""
    sims = _unit(embeddings) @ _unit(identity_gallery).T
    k = min(SCORE_NEIGHBOURS, sims.shape[1])
    top = -np.partition(-sims, k - 1, axis=1)[:, :k]
    return top.mean(axis=1)


def best_other_similarity(
    embeddings: np.ndarray, gallery: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Per row: the highest `identity_similarity` over every identity in `gallery`."""
    scores = [identity_similarity(embeddings, gallery[labels == i]) for i in np.unique(labels)]
    return np.max(np.stack(scores), axis=0)


def tail_scores(
    gallery: np.ndarray,
    labels: list[str],
    identities: list[str] | None = None,
    track_length: int = 1,
    held: np.ndarray | None = None,
) -> np.ndarray:
    """Each identity's last `HOLDOUT_FRACTION` of rows (rows of one identity in time order, as
    train.data lists them) scored as the device will score them: against the best-matching
    identity of a gallery holding the other identities and this one's rows before a
    `GAP_ROWS` gap; with `track_length` > 1, every run of that many rows by its mean.
    `identities` limits which identities are scored (default: all); `held` (a mask) limits
    the gallery to the rows the device will hold, while every row is still scored."""
    x, y = _unit(gallery), np.asarray([str(label) for label in labels])
    scores = []
    for identity in np.unique(y) if identities is None else sorted(set(identities)):
        rows = np.flatnonzero(y == identity)
        n_test = max(1, round(len(rows) * HOLDOUT_FRACTION))
        if len(rows) > n_test:
            keep = np.ones(len(y), dtype=bool) if held is None else held.copy()
            keep[rows[max(1, len(rows) - n_test - GAP_ROWS) :]] = False
            tail = x[rows[-n_test:]]
            if track_length > 1:
                tail = track_means(tail, windows(np.zeros(len(tail)), track_length))
            scores.append(best_other_similarity(tail, x[keep], y[keep]))
    if not scores:
        raise TrainError("open-set calibration needs an identity with two or more embeddings")
    return np.concatenate(scores)


def impostor_scores(gallery: np.ndarray, labels: list[str]) -> np.ndarray:
    """Leave-identities-out: each identity's rows scored against the best other identity."""
    x, y = _unit(gallery), np.asarray([str(label) for label in labels])
    return np.concatenate(
        [best_other_similarity(x[y == i], x[y != i], y[y != i]) for i in np.unique(y)]
    )


def holdout_scores(
    gallery: np.ndarray,
    labels: list[str],
    holdout: np.ndarray,
    holdout_labels: list[str] | None = None,
    track_length: int = 1,
) -> np.ndarray:
    """Held-out frames of known swimmers scored as the device will score them: against the
    best-matching identity (the SVM's candidate, or the track's assignment when the swimmer is
    alone, is nearly always that one). With `track_length` > 1, the held-out rows (each
    identity's in time order, `holdout_labels` saying whose) are cut into every run of that
    many (train.drift.windows) and each run's mean descriptor is scored, as a track's is."""
    y = np.asarray([str(label) for label in labels])
    queries = _unit(holdout)
    if track_length > 1:
        if holdout_labels is None:
            raise TrainError("track scores need the held-out frames' labels")
        queries = track_means(queries, windows(np.asarray(holdout_labels, str), track_length))
    return best_other_similarity(queries, _unit(gallery), y)


@dataclass(frozen=True)
class Thresholds:
    """The bundle's two unknown-swimmer thresholds and how they were set (for the manifest)."""

    crop: float
    track: float
    calibration: dict


def calibrate(
    gallery: np.ndarray,
    labels: list[str],
    holdout: np.ndarray | None = None,
    holdout_labels: list[str] | None = None,
    track_length: int = TRACK_LENGTH,
    track_quantile: float = TRACK_QUANTILE,
) -> Thresholds:
    """The crop and track thresholds on `identity_similarity` (cosine, -1..1); see above.
    `holdout_labels`, when given, drop held-out frames of identities not in the gallery (they
    would be unknown swimmers, not known ones) and let tracks be scored. bench/drift.py tries
    other `track_quantile`s."""
    known = sorted(set(map(str, labels)))
    if len(known) < 2:
        raise TrainError("open-set calibration needs at least two identities")
    if holdout is not None and holdout_labels is not None:
        keep = np.isin(np.asarray(holdout_labels, str), known)
        holdout, holdout_labels = np.asarray(holdout)[keep], list(np.asarray(holdout_labels)[keep])
    if holdout is None or not len(holdout):
        crop = _fallback_threshold(gallery, labels)
        return Thresholds(crop, crop, {"method": "fallback: no held-out frames", "quantile": None})
    crops = holdout_scores(gallery, labels, holdout)
    length = track_length if holdout_labels is not None else 1
    tracks = holdout_scores(gallery, labels, holdout, holdout_labels, length)
    thresholds = Thresholds(
        crop=float(np.quantile(crops, GENUINE_QUANTILE)) - DEVICE_SCORE_MARGIN,
        track=float(np.quantile(tracks, track_quantile)) - DEVICE_SCORE_MARGIN,
        calibration={
            "method": "quantiles of held-out known swimmers' scores",
            "frames": "the latest frames of each swimmer, never trained on",
            "crop_quantile": GENUINE_QUANTILE,
            "track_quantile": track_quantile,
            "track_length": length,
            "device_margin": DEVICE_SCORE_MARGIN,
            "crops": len(crops),
            "tracks": len(tracks),
            "crop_median": round(float(np.median(crops)), 4),
            "track_median": round(float(np.median(tracks)), 4),
        },
    )
    log.info(
        "open-set thresholds: crop %.4f (q%.2f of %d), track %.4f (q%.3f of %d runs of %d)",
        thresholds.crop,
        GENUINE_QUANTILE,
        len(crops),
        thresholds.track,
        track_quantile,
        len(tracks),
        length,
    )
    return thresholds


def _fallback_threshold(gallery: np.ndarray, labels: list[str]) -> float:
    """Without held-out frames: midway between the trained-on genuine and leave-identities-out
    impostor scores. Both are far from what unseen crops score, and the midpoint (~0.53) makes
    the classifier nearly closed-set; that is still better than rejecting known swimmers."""
    genuine = float(np.quantile(tail_scores(gallery, labels), GENUINE_QUANTILE))
    impostor = float(np.quantile(impostor_scores(gallery, labels), IMPOSTOR_QUANTILE))
    threshold = (genuine + impostor) / 2.0
    log.warning(
        "open-set threshold %.4f from trained-on frames only (genuine %.4f, impostor %.4f): "
        "pass held-out frames to calibrate for a real one",
        threshold,
        genuine,
        impostor,
    )
    return threshold


def enrollment_thresholds(
    thresholds: Thresholds,
    gallery: np.ndarray,
    labels: list[str],
    enrolled: list[str],
    held: np.ndarray | None = None,
) -> Thresholds:
    """A bundle's thresholds after enrolling the `enrolled` identities (swimmers the CNN never
    trained on) into `gallery`: each lowered, if need be, to its quantile of their later crops'
    (or runs of crops') scores against the rest (`tail_scores`; `held`: the rows the device
    keeps)."""
    crop = float(np.quantile(tail_scores(gallery, labels, enrolled, 1, held), GENUINE_QUANTILE))
    runs = tail_scores(gallery, labels, enrolled, TRACK_LENGTH, held)
    track = float(np.quantile(runs, TRACK_QUANTILE))
    crop, track = crop - DEVICE_SCORE_MARGIN, track - DEVICE_SCORE_MARGIN
    log.info(
        "enrolled swimmers' crop q%.2f %.4f and track q%.3f %.4f; thresholds were %.4f, %.4f",
        GENUINE_QUANTILE,
        crop,
        TRACK_QUANTILE,
        track,
        thresholds.crop,
        thresholds.track,
    )
    calibration = dict(thresholds.calibration, enrolled=sorted(enrolled))
    return Thresholds(min(thresholds.crop, crop), min(thresholds.track, track), calibration)
