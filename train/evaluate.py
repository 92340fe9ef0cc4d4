"""Figures for a trained run: classification accuracy and per-identity precision/recall, and the
re-identification view (test crops as queries against the training crops as gallery): rank-1,
rank-5 and mean average precision on cosine similarity of the unit embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def classification_report(
    true: Sequence[str], predicted: Sequence[str], identities: Sequence[str]
) -> dict:
    """Accuracy, per-identity precision/recall/support, and the confusion matrix (rows = truth)."""
    true, predicted = np.asarray(true), np.asarray(predicted)
    index = {name: i for i, name in enumerate(identities)}
    confusion = np.zeros((len(identities), len(identities)), dtype=np.int64)
    for t, p in zip(true, predicted, strict=True):
        if t in index and p in index:
            confusion[index[t], index[p]] += 1
    per_identity = {}
    for name in identities:
        tp = int(np.sum((true == name) & (predicted == name)))
        n_pred, n_true = int(np.sum(predicted == name)), int(np.sum(true == name))
        per_identity[name] = {
            "precision": tp / n_pred if n_pred else 0.0,
            "recall": tp / n_true if n_true else 0.0,
            "support": n_true,
        }
    accuracy = float(np.mean(true == predicted)) if len(true) else 0.0
    return {"accuracy": accuracy, "per_identity": per_identity, "confusion": confusion.tolist()}


def retrieval_metrics(
    queries: np.ndarray,
    query_labels: Sequence[str],
    gallery: np.ndarray,
    gallery_labels: Sequence[str],
) -> dict[str, float]:
    """Rank-1, rank-5 (a same-identity gallery crop among the k nearest) and mAP over queries."""
    query_labels, gallery_labels = np.asarray(query_labels), np.asarray(gallery_labels)
    order = np.argsort(-(queries @ gallery.T), axis=1)
    hits = gallery_labels[order] == query_labels[:, None]
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1), np.inf)  # inf: never
    return {
        "rank1": float(np.mean(first_hit < 1)),
        "rank5": float(np.mean(first_hit < 5)),
        "mAP": float(np.mean([_average_precision(row) for row in hits])),
    }


def _average_precision(hits: np.ndarray) -> float:
    """Mean of the precision at each relevant position in one query's ranked gallery."""
    if not hits.any():
        return 0.0
    ranks = np.flatnonzero(hits) + 1
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks))
