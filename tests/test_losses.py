"""Both triplet losses against plain-numpy, loop-by-loop references of their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from train.errors import TrainError
from train.losses import get_loss
from train.losses.batch_hard import batch_hard_triplet_loss
from train.losses.semi_hard import semi_hard_triplet_loss


def _distances(x: np.ndarray) -> np.ndarray:
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


def semi_hard_reference(labels: np.ndarray, x: np.ndarray, margin: float) -> float:
    """For each anchor-positive pair: the closest negative farther than the positive, else the
    farthest negative; mean hinge over all pairs (tensorflow-addons' semantics)."""
    d = _distances(x)
    terms = []
    for a in range(len(x)):
        negatives = [n for n in range(len(x)) if labels[n] != labels[a]]
        for p in range(len(x)):
            if p == a or labels[p] != labels[a]:
                continue
            farther = [d[a, n] for n in negatives if d[a, n] > d[a, p]]
            chosen = min(farther) if farther else max(d[a, n] for n in negatives)
            terms.append(max(d[a, p] - chosen + margin, 0.0))
    return float(np.mean(terms))


def batch_hard_reference(labels: np.ndarray, x: np.ndarray, margin: float) -> float:
    """For each anchor: hinge of farthest positive minus closest negative; mean over anchors."""
    d = _distances(x)
    terms = []
    for a in range(len(x)):
        pos = [d[a, p] for p in range(len(x)) if p != a and labels[p] == labels[a]]
        neg = [d[a, n] for n in range(len(x)) if labels[n] != labels[a]]
        if pos and neg:
            terms.append(max(max(pos) - min(neg) + margin, 0.0))
    return float(np.mean(terms))


def _batch(seed: int, n: int = 24, dim: int = 8, classes: int = 4):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(np.int32)
    x = rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return labels, x.astype(np.float64)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_semi_hard_matches_numpy(seed, margin):
    labels, x = _batch(seed)
    got = float(semi_hard_triplet_loss(tf.constant(labels), tf.constant(x), margin))
    assert got == pytest.approx(semi_hard_reference(labels, x, margin), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_batch_hard_matches_numpy(seed, margin):
    labels, x = _batch(seed)
    got = float(batch_hard_triplet_loss(tf.constant(labels), tf.constant(x), margin))
    assert got == pytest.approx(batch_hard_reference(labels, x, margin), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("loss", [semi_hard_triplet_loss, batch_hard_triplet_loss])
def test_well_separated_clusters_cost_nothing_and_collapse_costs_the_margin(loss):
    labels = np.repeat(np.arange(3, dtype=np.int32), 4)
    separated = np.repeat(np.eye(3, 8), 4, axis=0)
    assert float(loss(tf.constant(labels), tf.constant(separated), 0.5)) == 0.0
    collapsed = np.tile(np.eye(1, 8), (12, 1))
    assert float(loss(tf.constant(labels), tf.constant(collapsed), 0.5)) == pytest.approx(0.5)


@pytest.mark.parametrize("loss", [semi_hard_triplet_loss, batch_hard_triplet_loss])
def test_gradient_is_finite_with_duplicate_embeddings(loss):
    labels = tf.constant([0, 0, 1, 1])
    x = tf.Variable([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    with tf.GradientTape() as tape:
        value = loss(labels, x, 1.0)
    assert np.all(np.isfinite(tape.gradient(value, x).numpy()))


def test_losses_are_picked_by_name_and_an_unknown_name_lists_the_valid_ones():
    assert get_loss("semi-hard") is semi_hard_triplet_loss
    assert get_loss("batch-hard") is batch_hard_triplet_loss
    with pytest.raises(TrainError, match="semi-hard, batch-hard"):
        get_loss("hardest")
