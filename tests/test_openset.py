"""train.openset: the threshold keeps ~98 % of unseen known frames and rejects strangers."""

from __future__ import annotations

import numpy as np
import pytest

from train.errors import TrainError
from train.openset import (
    GENUINE_QUANTILE,
    IMPOSTOR_QUANTILE,
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
    holdout, holdout_labels = x[known & ~first], list(y[known & ~first])
    threshold = calibrate_threshold(gallery, labels, holdout, holdout_labels)
    assert -1.0 <= threshold <= 1.0
    genuine = np.concatenate(
        [identity_similarity(x[(y == i) & ~first], x[(y == i) & first]) for i in set(labels)]
    )
    assert np.mean(genuine < threshold) == pytest.approx(GENUINE_QUANTILE, abs=0.01)
    strangers = best_other_similarity(x[stranger], gallery, np.asarray(labels))
    assert (strangers < threshold).mean() >= 0.9


def test_without_holdout_the_threshold_is_the_lax_midpoint():
    x, y = _clusters(4)
    genuine = np.quantile(tail_scores(x, list(y)), GENUINE_QUANTILE)
    impostor = np.quantile(impostor_scores(x, list(y)), IMPOSTOR_QUANTILE)
    assert impostor < genuine
    assert calibrate_threshold(x, list(y)) == pytest.approx((genuine + impostor) / 2)


def test_enrollment_lowers_the_threshold_only_as_far_as_needed():
    x, y = _clusters(2, spread=0.6)
    need = float(np.quantile(tail_scores(x, list(y)), GENUINE_QUANTILE))
    assert enrollment_threshold(need + 0.1, x, list(y)) == pytest.approx(need)
    assert enrollment_threshold(need - 0.1, x, list(y)) == pytest.approx(need - 0.1)


def test_identity_similarity_is_mean_of_nearest_cosines():
    gallery = np.eye(6, dtype=np.float32)
    query = np.array([[1.0, 1.0, 0, 0, 0, 0]], dtype=np.float32)
    # Cosines are 0.707, 0.707, 0, 0, 0, 0; the five nearest average to 1.414 / 5.
    np.testing.assert_allclose(identity_similarity(query, gallery), [np.sqrt(2) / 5], rtol=1e-6)


def test_one_identity_or_foreign_holdout_cannot_be_calibrated():
    x, y = _clusters(2)
    with pytest.raises(TrainError, match="two identities"):
        calibrate_threshold(x, ["a"] * len(x))
    with pytest.raises(TrainError, match="no held-out embedding"):
        calibrate_threshold(x, list(y), x[:5], ["zz"] * 5)
