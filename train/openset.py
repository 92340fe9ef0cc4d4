"""Open set: when is a crop a swimmer we do not know?

The SVM always names one of the enrolled swimmers (its `candidate`). Whether to believe it is
decided by a score: the cosine similarity between the crop's embedding and the candidate's
enrolled gallery embeddings, the mean of the `SCORE_NEIGHBOURS` most similar ones (-1..1).
Below the threshold the answer is "unknown". `edge.classify` computes the same score on the
device; a test checks that the two agree.

Why this score and this calibration (bench/open_set.py, real crops, time split, each of the 7
identities left out of CNN training in turn, 10-epoch recipe; see bench/results/open_set.json):
- Separating a left-out swimmer's crops from known swimmers' later frames, the candidate scores
  did about equally badly: AUROC 0.785 (5-NN mean cosine), 0.799 (nearest cosine), 0.758
  (cosine to the centroid), 0.793 (SVM one-vs-one margin); keeping 98 % of known frames they
  reject 8.6 %, 9.5 %, 8.5 % and 11 % of the unknown swimmer. The CNN, trained on six
  identities, maps a new swimmer onto a known one (median cosine 0.83-0.99), so no score on
  these embeddings reaches "90 % of unknowns rejected". The 5-NN mean is kept: as good as the
  others within fold-to-fold noise, robust to one odd gallery frame, needs no SVM refit to
  calibrate, and is cheap on the Pi.
- Leave-identities-out on the *training* embeddings is no guide: there the CNN has already
  pushed every identity away from the others, impostor scores sit at 0.08-0.13 (90th
  percentile) where a truly unseen swimmer scores 0.83-0.99, and genuine scores of trained-on
  frames sit at 0.98-0.99 where unseen later frames of the same swimmer score 0.68-0.89
  (2nd percentile). A threshold between those two (0.53) rejected 0.6 % of unknowns.
So the threshold is set on genuine scores of frames the CNN did NOT train on: the
`GENUINE_QUANTILE` quantile, so that about 2 % of known swimmers' frames are answered unknown.
`holdout` supplies such frames (reid-train: the time split's later frames); without it the
gallery's own later rows are scored against its earlier ones, which is honest only for swimmers
the CNN never saw (enrollment) and otherwise too strict (it logs a warning). Enrollment lowers a
bundle's threshold only as far as the newly enrolled swimmers need (`enrollment_threshold`).
"""

from __future__ import annotations

import logging

import numpy as np

from train.errors import TrainError

log = logging.getLogger(__name__)

SCORE_NEIGHBOURS = 5
HOLDOUT_FRACTION = 0.2  # without a holdout: each identity's last 20 % of gallery rows...
GAP_ROWS = 10  # ...after a gap, like the time split's later frames
GENUINE_QUANTILE = 0.02  # about 2 % of known swimmers' frames may be answered unknown


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


def tail_scores(gallery: np.ndarray, labels: list[str]) -> np.ndarray:
    """Each identity's last `HOLDOUT_FRACTION` of rows (rows of one identity in time order, as
    train.data lists them) scored against its rows before a `GAP_ROWS` gap."""
    x, y = _unit(gallery), np.asarray([str(label) for label in labels])
    scores = []
    for identity in np.unique(y):
        own = x[y == identity]
        n_test = max(1, round(len(own) * HOLDOUT_FRACTION))
        if len(own) > n_test:
            enrolled = own[: max(1, len(own) - n_test - GAP_ROWS)]
            scores.append(identity_similarity(own[-n_test:], enrolled))
    if not scores:
        raise TrainError("open-set calibration needs an identity with two or more embeddings")
    return np.concatenate(scores)


def holdout_scores(
    gallery: np.ndarray, labels: list[str], holdout: np.ndarray, holdout_labels: list[str]
) -> np.ndarray:
    """Held-out embeddings of known identities scored against their own identity's gallery."""
    x, y = _unit(gallery), np.asarray([str(label) for label in labels])
    h, hy = _unit(holdout), np.asarray([str(label) for label in holdout_labels])
    scores = [identity_similarity(h[hy == i], x[y == i]) for i in np.unique(hy) if (y == i).any()]
    if not scores:
        raise TrainError("no held-out embedding belongs to an identity of the gallery")
    return np.concatenate(scores)


def calibrate_threshold(
    gallery: np.ndarray,
    labels: list[str],
    holdout: np.ndarray | None = None,
    holdout_labels: list[str] | None = None,
) -> float:
    """The unknown-swimmer threshold on `identity_similarity` (cosine, -1..1); see above."""
    if len(set(map(str, labels))) < 2:
        raise TrainError("open-set calibration needs at least two identities")
    if holdout is not None and holdout_labels is not None and len(holdout):
        genuine = holdout_scores(gallery, labels, holdout, holdout_labels)
    else:
        log.warning("no held-out frames: calibrating on trained-on gallery rows (too strict)")
        genuine = tail_scores(gallery, labels)
    threshold = float(np.quantile(genuine, GENUINE_QUANTILE))
    log.info(
        "open-set threshold %.4f: q%.2f of %d genuine scores (median %.4f)",
        threshold,
        GENUINE_QUANTILE,
        len(genuine),
        float(np.median(genuine)),
    )
    return threshold


def enrollment_threshold(threshold: float, embeddings: np.ndarray, labels: list[str]) -> float:
    """A bundle's threshold after enrolling `embeddings` (swimmers the CNN never trained on):
    lowered, if need be, to the `GENUINE_QUANTILE` of their own later-vs-earlier scores."""
    new = float(np.quantile(tail_scores(embeddings, labels), GENUINE_QUANTILE))
    log.info(
        "enrolled swimmers' genuine q%.2f %.4f, threshold was %.4f",
        GENUINE_QUANTILE,
        new,
        threshold,
    )
    return min(float(threshold), new)
