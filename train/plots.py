"""PNG figures for a run: confusion matrix, t-SNE of test embeddings, training curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.manifold import TSNE

matplotlib.use("Agg")  # files only: no display on a training host or in CI


def plot_confusion(
    confusion: Sequence[Sequence[int]], identities: Sequence[str], path: Path
) -> None:
    """Counts per (true, predicted) identity, annotated, rows = truth."""
    matrix = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(identities), 0.8 + 0.6 * len(identities)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(identities)), identities)
    ax.set_yticks(range(len(identities)), identities)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (row, col), value in np.ndenumerate(matrix):
        colour = "white" if value > matrix.max() / 2 else "black"
        ax.text(col, row, str(value), ha="center", va="center", color=colour, fontsize=8)
    _save(fig, path)


def plot_tsne(embeddings: np.ndarray, labels: Sequence[str], path: Path, seed: int = 0) -> None:
    """2-D t-SNE of embeddings coloured by identity (needs at least a handful of points)."""
    labels = np.asarray(labels)
    perplexity = float(max(2, min(30, (len(embeddings) - 1) // 3)))
    points = TSNE(perplexity=perplexity, random_state=seed, init="pca").fit_transform(embeddings)
    fig, ax = plt.subplots(figsize=(6, 5))
    for name in sorted(set(labels.tolist())):
        mask = labels == name
        ax.scatter(points[mask, 0], points[mask, 1], s=8, label=name)
    ax.legend(title="swimmer", fontsize=7, markerscale=2)
    ax.set_title("t-SNE of test embeddings")
    _save(fig, path)


def plot_curves(history: dict[str, list[float]], path: Path) -> None:
    """Mean training loss per epoch."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(history["loss"]) + 1), history["loss"], marker=".")
    ax.set_xlabel("epoch")
    ax.set_ylabel("triplet loss")
    ax.grid(alpha=0.3)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
