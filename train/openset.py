"""Open set: when is a crop a swimmer we do not know?

The SVM always names one of the enrolled swimmers (its `candidate`). Whether to believe it is
decided by a score: the cosine similarity between the crop's embedding and the candidate's
enrolled gallery embeddings (the mean of the `SCORE_NEIGHBOURS` most similar ones). Below the
threshold the answer is "unknown". `edge.classify` computes the same score on the device; a test
checks the two agree.

The threshold is calibrated on the gallery alone, by leaving identities out:
- impostor scores: each identity in turn plays the unknown swimmer; its embeddings are scored
  against the best-matching *other* identity (an upper bound on what its candidate would get);
- genuine scores: each identity's last `HOLDOUT_FRACTION` of gallery rows (rows of one identity
  are in time order, as `train.data.list_samples` gives them) against its earlier rows, with a
  gap of `GAP_ROWS`, the way later video frames meet an enrollment made from earlier ones.
The threshold sits midway between the genuine scores' `GENUINE_QUANTILE` (≤ 2 % of known
swimmers answered unknown) and the impostor scores' `IMPOSTOR_QUANTILE` (≥ 90 % of unknown
swimmers rejected); when those overlap, the midpoint shares the error between the two.
"""

from __future__ import annotations

import logging

import numpy as np

from train.errors import TrainError

log = logging.getLogger(__name__)

SCORE_NEIGHBOURS = 5
HOLDOUT_FRACTION = 0.2
GAP_ROWS = 10
GENUINE_QUANTILE = 0.02
IMPOSTOR_QUANTILE = 0.90


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


def leave_out_scores(gallery: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) calibration scores, as the module docstring describes."""
    x, y = _unit(gallery), np.asarray([str(label) for label in labels])
    identities = np.unique(y)
    if len(identities) < 2:
        raise TrainError("open-set calibration needs at least two identities")
    genuine, impostor = [], []
    for identity in identities:
        own, others = x[y == identity], x[y != identity]
        impostor.append(best_other_similarity(own, others, y[y != identity]))
        n_test = max(1, round(len(own) * HOLDOUT_FRACTION))
        enrolled = own[: max(1, len(own) - n_test - GAP_ROWS)]
        if len(own) > n_test:
            genuine.append(identity_similarity(own[-n_test:], enrolled))
    if not genuine:
        raise TrainError("open-set calibration needs an identity with two or more embeddings")
    return np.concatenate(genuine), np.concatenate(impostor)


def calibrate_threshold(gallery: np.ndarray, labels: list[str]) -> float:
    """The unknown-swimmer threshold on the score of `identity_similarity` (cosine, -1..1)."""
    genuine, impostor = leave_out_scores(gallery, labels)
    low_genuine = float(np.quantile(genuine, GENUINE_QUANTILE))
    high_impostor = float(np.quantile(impostor, IMPOSTOR_QUANTILE))
    threshold = (low_genuine + high_impostor) / 2.0
    log.info(
        "open-set threshold %.4f (genuine q%.2f %.4f, impostor q%.2f %.4f; %d/%d scores)",
        threshold,
        GENUINE_QUANTILE,
        low_genuine,
        IMPOSTOR_QUANTILE,
        high_impostor,
        len(genuine),
        len(impostor),
    )
    return threshold
