"""train.openset: the threshold keeps ~98 % of unseen known frames and rejects strangers."""

from __future__ import annotations

import numpy as np
import pytest

from train.errors import TrainError
from train.openset import (
    GENUINE_QUANTILE,
    IMPOSTOR_QUANTILE,
    SCORE_NEIGHBOURS,
    best_other_similarity,
    calibrate_threshold,
    enrollment_threshold,
    identity_similarity,
    impostor_scores,
    tail_scores,
)


def _clusters(n_ids: int, per_id: int = 60, d: int = 32, spread: float = 0.15, seed: int = 0):
    """Unit vectors around `n_ids` random centres; rows of one identity are consecutive."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, d))
    x = np.concatenate(
        [
            c + spread * np.linalg.norm(c) * rng.normal(size=(per_id, d)) / np.sqrt(d)
            for c in centres
        ]
    )
    labels = [str(i) for i in range(n_ids) for _ in range(per_id)]
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.asarray(labels)


def test_holdout_threshold_keeps_98_percent_of_known_frames_and_rejects_strangers():
    x, y = _clusters(8, per_id=120)
    known, stranger = y != "7", y == "7"
    first = np.tile(np.arange(120) < 60, 8)
    gallery, labels = x[known & first], list(y[known & first])
    holdout = x[known & ~first]
    threshold = calibrate_threshold(gallery, labels, holdout)
    assert -1.0 <= threshold <= 1.0
    genuine = best_other_similarity(holdout, gallery, np.asarray(labels))
    assert np.mean(genuine < threshold) == pytest.approx(GENUINE_QUANTILE, abs=0.01)
    # With labels, held-out frames of swimmers outside the gallery are left out.
    mixed = np.concatenate([holdout, x[stranger]])
    mixed_labels = list(y[known & ~first]) + list(y[stranger])
    assert calibrate_threshold(gallery, labels, mixed, mixed_labels) == pytest.approx(threshold)
    strangers = best_other_similarity(x[stranger], gallery, np.asarray(labels))
    assert (strangers < threshold).mean() >= 0.9


def test_without_holdout_the_threshold_is_the_lax_midpoint():
    x, y = _clusters(4)
    genuine = np.quantile(tail_scores(x, list(y)), GENUINE_QUANTILE)
    impostor = np.quantile(impostor_scores(x, list(y)), IMPOSTOR_QUANTILE)
    assert impostor < genuine
    assert calibrate_threshold(x, list(y)) == pytest.approx((genuine + impostor) / 2)


def test_enrollment_lowers_the_threshold_only_as_far_as_needed():
    x, y = _clusters(3, spread=0.6)
    need = float(np.quantile(tail_scores(x, list(y), ["2"]), GENUINE_QUANTILE))
    assert enrollment_threshold(need + 0.1, x, list(y), ["2"]) == pytest.approx(need)
    assert enrollment_threshold(need - 0.1, x, list(y), ["2"]) == pytest.approx(need - 0.1)


def test_tail_scores_score_later_rows_against_earlier_ones_and_the_others():
    x, y = _clusters(2, per_id=30)
    scores = tail_scores(x, list(y), ["1"])
    assert len(scores) == 6  # the last 20 % of identity 1's 30 rows
    keep = np.r_[np.arange(30), np.arange(30, 44)]  # identity 0, identity 1 before the gap
    expected = best_other_similarity(x[54:], x[keep], y[keep])
    np.testing.assert_allclose(scores, expected)


def test_identity_similarity_is_mean_of_nearest_cosines():
    gallery = np.eye(6, dtype=np.float32)
    query = np.array([[1.0, 1.0, 0, 0, 0, 0]], dtype=np.float32)
    cosines = np.array([0.5, 0.5, 0, 0, 0, 0]) * np.sqrt(2)
    expected = np.sort(cosines)[::-1][:SCORE_NEIGHBOURS].mean()
    np.testing.assert_allclose(identity_similarity(query, gallery), [expected], rtol=1e-6)


def test_one_identity_cannot_be_calibrated():
    x, _ = _clusters(1)
    with pytest.raises(TrainError, match="two identities"):
        calibrate_threshold(x, ["a"] * len(x))
