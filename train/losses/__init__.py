"""Triplet losses on L2-normalised embeddings, picked by name for the training recipe."""

from __future__ import annotations

from collections.abc import Callable

from train.errors import TrainError
from train.losses.batch_hard import batch_hard_triplet_loss
from train.losses.semi_hard import semi_hard_triplet_loss

LOSSES: dict[str, Callable] = {
    "semi-hard": semi_hard_triplet_loss,
    "batch-hard": batch_hard_triplet_loss,
}


def get_loss(name: str) -> Callable:
    """The loss function called `name`; an unknown name is an error listing the valid ones."""
    try:
        return LOSSES[name]
    except KeyError:
        raise TrainError(f"unknown loss {name!r} (choose from {', '.join(LOSSES)})") from None
