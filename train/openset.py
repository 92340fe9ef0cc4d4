"""Open set: when is a crop a swimmer we do not know?

The SVM always names one of the enrolled swimmers (its `candidate`). Whether to believe it is
decided by a score: the cosine similarity between the crop's descriptor (CNN embedding beside
colour signature, train.descriptor) and the candidate's nearest enrolled gallery descriptor
(generally: the mean over its `SCORE_NEIGHBOURS` nearest; one, by measurement), in -1..1.
Below the threshold the answer is "unknown". `edge.classify` computes the same score on the
device; a test checks that the two agree.

Why this score and this calibration (bench/open_set.py: real crops, time split, each of the 7
identities left out of CNN training in turn, linear SVM; four runs: 64x40 CNNs of 10 and 25
epochs on all training frames, a 64x40 10-epoch CNN and the final 128x80 15-epoch CNN
(bench/results/open_set.json) on 80 % of them, the rest kept to calibrate):
- Separating the left-out swimmer's crops from known swimmers' later frames, the candidate
  scores all do badly. AUROC per run: nearest cosine 0.799 / 0.817 / 0.743 / 0.734, mean of
  the 5 nearest 0.785 / 0.807 / 0.717 / 0.698, cosine to the centroid 0.758 / 0.778 / 0.671 /
  0.621, SVM one-vs-one margin 0.793 / 0.786 / 0.719 / 0.685; keeping 98 % of known frames the
  nearest cosine rejects 9.5 / 15.5 / 15.2 / 10.6 % of the unknown swimmer (the others 3-17 %).
  The CNN, trained on six identities, maps a new swimmer onto a known one (median cosine
  0.83-0.99), so no score on these embeddings comes near "90 % of unknowns rejected". The
  nearest cosine is best or level in every run, needs no SVM refit to calibrate, and is one
  dot product per gallery row on the Pi. That is what brought in the colour signature
  (edge/colour.py): with the 25-epoch CNN at colour weight 0.9 the nearest cosine's AUROC is
  0.896 and it rejects 34 % at 98 % of known frames kept (bench/results/open_set.json); still
  not 90 %: several swimmers share cap and suit colours.
- Leave-identities-out on the *training* embeddings is no guide: the CNN has already pushed
  every trained identity away from the others, so impostor scores sit at 0.05-0.13 (90th
  percentile) where a truly unseen swimmer scores 0.83-0.99 (median), and trained-on frames
  score 0.98-0.995 (2nd percentile) where unseen later frames of the same swimmer score
  0.70-0.89. A threshold midway (0.52-0.54) rejected 0.3-0.6 % of the unknown swimmer.
So the threshold is set on genuine scores of frames the CNN did NOT train on: the
`GENUINE_QUANTILE` quantile, so that about 2 % of known swimmers' frames are answered unknown.
`holdout` supplies such frames (reid-train: the time split's later frames); each is scored
against its best-matching identity, as the device scores a crop against its candidate. Without
it the function falls back to the midpoint above, nearly closed-set, and logs a warning.
Enrollment scores the new swimmers' later crops against their earlier ones and everyone else
(honest: the CNN never saw them) and lowers the bundle's threshold only as far as they need
(`enrollment_threshold`).
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
TRACK_QUANTILE = 0.02  # and about as many of their tracks (chosen on bench/drift.py's far bin)
IMPOSTOR_QUANTILE = 0.90  # fallback only: the 90th percentile of leave-one-out impostors


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
) -> np.ndarray:
    """Each identity's last `HOLDOUT_FRACTION` of rows (rows of one identity in time order, as
    train.data lists them) scored as the device will score them: against the best-matching
    identity of a gallery holding the other identities and this one's rows before a
    `GAP_ROWS` gap; with `track_length` > 1, every run of that many rows by its mean.
    `identities` limits which identities are scored (default: all)."""
    x, y = _unit(gallery), np.asarray([str(label) for label in labels])
    scores = []
    for identity in np.unique(y) if identities is None else sorted(set(identities)):
        rows = np.flatnonzero(y == identity)
        n_test = max(1, round(len(rows) * HOLDOUT_FRACTION))
        if len(rows) > n_test:
            keep = np.ones(len(y), dtype=bool)
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
) -> Thresholds:
    """The crop and track thresholds on `identity_similarity` (cosine, -1..1); see above.
    `holdout_labels`, when given, drop held-out frames of identities not in the gallery (they
    would be unknown swimmers, not known ones) and let tracks be scored."""
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
        crop=float(np.quantile(crops, GENUINE_QUANTILE)),
        track=float(np.quantile(tracks, TRACK_QUANTILE)),
        calibration={
            "method": "quantiles of held-out known swimmers' scores",
            "frames": "the latest frames of each swimmer, never trained on",
            "crop_quantile": GENUINE_QUANTILE,
            "track_quantile": TRACK_QUANTILE,
            "track_length": length,
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
        TRACK_QUANTILE,
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
    thresholds: Thresholds, gallery: np.ndarray, labels: list[str], enrolled: list[str]
) -> Thresholds:
    """A bundle's thresholds after enrolling the `enrolled` identities (swimmers the CNN never
    trained on) into `gallery`: each lowered, if need be, to its quantile of their later crops'
    (or runs of crops') scores against the rest (`tail_scores`)."""
    crop = float(np.quantile(tail_scores(gallery, labels, enrolled), GENUINE_QUANTILE))
    track = float(np.quantile(tail_scores(gallery, labels, enrolled, TRACK_LENGTH), TRACK_QUANTILE))
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
