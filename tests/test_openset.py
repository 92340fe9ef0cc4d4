"""train.openset: leave-identities-out calibration puts the threshold between known and unknown."""

from __future__ import annotations

import numpy as np
import pytest

from train.errors import TrainError
from train.openset import best_other_similarity, calibrate_threshold, identity_similarity


def _clusters(n_ids: int, per_id: int = 60, d: int = 32, spread: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, d))
    x = np.concatenate(
        [
            c + spread * np.linalg.norm(c) * rng.normal(size=(per_id, d)) / np.sqrt(d)
            for c in centres
        ]
    )
    labels = [str(i) for i in range(n_ids) for _ in range(per_id)]
    return x / np.linalg.norm(x, axis=1, keepdims=True), labels


def test_threshold_separates_known_from_unknown_swimmers():
    x, y = _clusters(8)
    labels = np.asarray(y)
    known, unknown = labels != "7", labels == "7"
    threshold = calibrate_threshold(x[known], list(labels[known]))
    assert -1.0 <= threshold <= 1.0
    unknown_scores = best_other_similarity(x[unknown], x[known], labels[known])
    assert (unknown_scores < threshold).mean() >= 0.9
    own = identity_similarity(x[labels == "0"][-10:], x[labels == "0"][:40])
    assert (own >= threshold).mean() >= 0.9


def test_identity_similarity_is_mean_of_nearest_cosines():
    gallery = np.eye(6, dtype=np.float32)
    query = np.array([[1.0, 1.0, 0, 0, 0, 0]], dtype=np.float32)
    # Cosines are 0.707, 0.707, 0, 0, 0, 0; the five nearest average to 1.414 / 5.
    np.testing.assert_allclose(identity_similarity(query, gallery), [np.sqrt(2) / 5], rtol=1e-6)


def test_one_identity_cannot_be_calibrated():
    x, _ = _clusters(1)
    with pytest.raises(TrainError, match="two identities"):
        calibrate_threshold(x, ["a"] * len(x))
