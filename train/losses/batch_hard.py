"""Batch-hard triplet loss (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss").

For every anchor in a P×K batch: its farthest positive and its closest negative. The loss is the
mean over anchors of max(d(a, hardest p) - d(a, hardest n) + margin, 0). With a P×K sampler every
anchor has K-1 positives, so each term is defined; an anchor without a positive or a negative
contributes nothing.
"""

from __future__ import annotations

import tensorflow as tf

from train.losses.distances import pairwise_distances


def batch_hard_triplet_loss(labels: tf.Tensor, embeddings: tf.Tensor, margin: float = 1.0):
    """Mean batch-hard triplet loss of a batch; `labels` (n,) ints, `embeddings` (n, d)."""
    labels = tf.reshape(labels, [-1])
    dist = pairwise_distances(embeddings)
    same = tf.equal(labels[:, None], labels[None, :])
    positive = tf.logical_and(same, tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool)))
    negative = tf.logical_not(same)

    hardest_positive = tf.reduce_max(tf.where(positive, dist, 0.0), axis=1)
    big = tf.reduce_max(dist) + 1.0
    hardest_negative = tf.reduce_min(tf.where(negative, dist, big), axis=1)
    valid = tf.cast(
        tf.logical_and(tf.reduce_any(positive, axis=1), tf.reduce_any(negative, axis=1)),
        dist.dtype,
    )
    losses = tf.maximum(hardest_positive - hardest_negative + margin, 0.0) * valid
    return tf.reduce_sum(losses) / tf.maximum(tf.reduce_sum(valid), 1.0)
