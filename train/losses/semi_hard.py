"""Semi-hard triplet loss (FaceNet; the reference notebook used tensorflow-addons' version).

tensorflow-addons is unmaintained and does not install with current TensorFlow, so this is a
re-implementation with the same semantics as `tfa.losses.TripletSemiHardLoss` (Euclidean
distance): for every anchor-positive pair (a, p), the negative is the closest one that is still
farther than p ("semi-hard"); if no negative is farther, the farthest negative is used. The loss
is the mean over all anchor-positive pairs of max(d(a,p) - d(a,n) + margin, 0). Semi-hard
negatives avoid the collapse that the very hardest ones cause early in training.
"""

from __future__ import annotations

import tensorflow as tf

from train.losses.distances import pairwise_distances


def semi_hard_triplet_loss(labels: tf.Tensor, embeddings: tf.Tensor, margin: float = 1.0):
    """Mean semi-hard triplet loss of a batch; `labels` (n,) ints, `embeddings` (n, d)."""
    labels = tf.reshape(labels, [-1])
    dist = pairwise_distances(embeddings)
    same = tf.equal(labels[:, None], labels[None, :])
    negative = tf.logical_not(same)
    positive = tf.logical_and(same, tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool)))

    # [a, p, n]: is n a negative of a that lies farther from a than p does?
    farther = tf.logical_and(negative[:, None, :], dist[:, None, :] > dist[:, :, None])
    big = tf.reduce_max(dist) + 1.0
    closest_farther = tf.reduce_min(tf.where(farther, dist[:, None, :], big), axis=2)
    farthest_negative = tf.reduce_max(tf.where(negative, dist, 0.0), axis=1, keepdims=True)
    has_farther = tf.reduce_any(farther, axis=2)
    chosen = tf.where(has_farther, closest_farther, farthest_negative)

    losses = tf.maximum(dist - chosen + margin, 0.0)
    mask = tf.cast(positive, losses.dtype)
    return tf.reduce_sum(losses * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
