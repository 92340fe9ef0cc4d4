"""Pairwise Euclidean distances, shared by both triplet losses."""

from __future__ import annotations

import tensorflow as tf


def pairwise_distances(embeddings: tf.Tensor) -> tf.Tensor:
    """(n, n) Euclidean distances; the zero diagonal gets a zero (not NaN) gradient."""
    dot = tf.matmul(embeddings, embeddings, transpose_b=True)
    norms = tf.linalg.diag_part(dot)
    squared = tf.maximum(norms[:, None] - 2.0 * dot + norms[None, :], 0.0)
    zero = tf.cast(tf.equal(squared, 0.0), squared.dtype)
    # sqrt has an infinite slope at 0: take it of a tiny positive number there, then zero it out.
    return tf.sqrt(squared + zero * 1e-16) * (1.0 - zero)
