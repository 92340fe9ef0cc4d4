"""train.openset: the thresholds keep ~98 % of unseen known frames (and tracks) and reject
strangers."""

from __future__ import annotations

import numpy as np
import pytest

from train.errors import TrainError
from train.openset import (
    DEVICE_SCORE_MARGIN,
    GENUINE_QUANTILE,
    IMPOSTOR_QUANTILE,
    SCORE_NEIGHBOURS,
    TRACK_LENGTH,
    TRACK_QUANTILE,
    Thresholds,
    best_other_similarity,
    calibrate,
    enrollment_thresholds,
    holdout_scores,
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
    thresholds = calibrate(gallery, labels, holdout, holdout_labels)
    threshold = thresholds.crop
    assert -1.0 <= threshold <= 1.0
    genuine = best_other_similarity(holdout, gallery, np.asarray(labels))
    assert np.mean(genuine < threshold + DEVICE_SCORE_MARGIN) == pytest.approx(
        GENUINE_QUANTILE, abs=0.01
    )
    assert np.mean(genuine < threshold) <= GENUINE_QUANTILE  # the device margin only lowers it
    # With labels, held-out frames of swimmers outside the gallery are left out.
    mixed = np.concatenate([holdout, x[stranger]])
    mixed_labels = holdout_labels + list(y[stranger])
    assert calibrate(gallery, labels, mixed, mixed_labels) == thresholds
    strangers = best_other_similarity(x[stranger], gallery, np.asarray(labels))
    assert (strangers < threshold).mean() >= 0.9
    assert thresholds.calibration["crops"] == len(holdout)


def test_track_threshold_is_the_quantile_of_held_out_runs_means():
    x, y = _clusters(4, per_id=80, spread=0.6)
    first = np.tile(np.arange(80) < 40, 4)
    gallery, labels = x[first], list(y[first])
    thresholds = calibrate(gallery, labels, x[~first], list(y[~first]))
    # 40 held-out rows per identity: 40 - 15 + 1 runs each, each scored by its mean.
    runs = holdout_scores(gallery, labels, x[~first], list(y[~first]), TRACK_LENGTH)
    assert len(runs) == 4 * (40 - TRACK_LENGTH + 1) == thresholds.calibration["tracks"]
    assert thresholds.track == pytest.approx(
        np.quantile(runs, TRACK_QUANTILE) - DEVICE_SCORE_MARGIN
    )
    first_run = x[~first][:TRACK_LENGTH].mean(axis=0)
    first_run /= np.linalg.norm(first_run)
    expected = best_other_similarity(first_run[None], gallery, np.asarray(labels))[0]
    assert runs[0] == pytest.approx(expected, abs=1e-5)
    # A mean of noisy crops sits nearer its identity than the crops do.
    assert thresholds.track > thresholds.crop


def test_without_holdout_the_threshold_is_the_lax_midpoint():
    x, y = _clusters(4)
    genuine = np.quantile(tail_scores(x, list(y)), GENUINE_QUANTILE)
    impostor = np.quantile(impostor_scores(x, list(y)), IMPOSTOR_QUANTILE)
    assert impostor < genuine
    fallback = calibrate(x, list(y))
    assert fallback.crop == fallback.track == pytest.approx((genuine + impostor) / 2)
    assert fallback.calibration["method"].startswith("fallback")


def test_enrollment_lowers_the_thresholds_only_as_far_as_needed():
    x, y = _clusters(3, per_id=100, spread=0.6)
    crop = float(np.quantile(tail_scores(x, list(y), ["2"]), GENUINE_QUANTILE))
    crop -= DEVICE_SCORE_MARGIN
    track = float(np.quantile(tail_scores(x, list(y), ["2"], TRACK_LENGTH), TRACK_QUANTILE))
    track -= DEVICE_SCORE_MARGIN
    high = Thresholds(crop + 0.1, track + 0.1, {})
    assert enrollment_thresholds(high, x, list(y), ["2"]) == Thresholds(
        pytest.approx(crop), pytest.approx(track), {"enrolled": ["2"]}
    )
    low = Thresholds(crop - 0.1, track - 0.1, {})
    lowered = enrollment_thresholds(low, x, list(y), ["2"])
    assert (lowered.crop, lowered.track) == (crop - 0.1, track - 0.1)


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
        calibrate(x, ["a"] * len(x))


def test_tail_scores_against_the_rows_the_device_holds_score_every_later_row():
    x, y = _clusters(2, per_id=30)
    held = np.zeros(60, bool)
    held[::3] = True  # a thinned gallery
    scores = tail_scores(x, list(y), ["1"], held=held)
    assert len(scores) == 6  # every one of identity 1's last rows, held or not
    keep = held.copy()
    keep[44:] = False  # identity 1's tail and the gap before it
    np.testing.assert_allclose(scores, best_other_similarity(x[54:], x[keep], y[keep]))
