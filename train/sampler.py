"""P×K identity batches: P identities, K crops each, so every batch holds triplets for every anchor.

The real data is unbalanced (one swimmer has 71 crops, the others about 250). Drawing crops
uniformly would show that swimmer a quarter as often; drawing identities in shuffled rounds shows
every identity equally often, and its crops are cycled without replacement so all of them are used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from train.errors import TrainError


class PKSampler:
    """Index arrays of length P*K, identity-major: K indices of one identity, then the next."""

    def __init__(self, labels: Sequence[str], p: int, k: int, seed: int = 0) -> None:
        if p < 2 or k < 2:
            raise TrainError(f"P×K batches need P >= 2 identities and K >= 2 crops (got {p}×{k})")
        self.rng = np.random.default_rng(seed)
        labels = np.asarray(labels)
        self.identities = sorted(set(labels.tolist()))
        if len(self.identities) < 2:
            raise TrainError("triplet training needs at least 2 identities")
        self.p = min(p, len(self.identities))
        self.k = k
        self._indices = {i: np.flatnonzero(labels == i) for i in self.identities}
        self._queues: dict[str, list[int]] = {i: [] for i in self.identities}
        self._order: list[str] = []

    @property
    def batch_size(self) -> int:
        return self.p * self.k

    def batch(self) -> np.ndarray:
        """One P×K batch of indices into `labels`."""
        return np.concatenate([self._take(identity, self.k) for identity in self._next_ids()])

    def batches(self, n: int) -> Iterator[np.ndarray]:
        for _ in range(n):
            yield self.batch()

    def _next_ids(self) -> list[str]:
        """P distinct identities, going round all identities in shuffled order (balance)."""
        chosen: list[str] = []
        while len(chosen) < self.p:
            if not self._order:
                self._order = list(self.rng.permutation(self.identities))
            identity = self._order.pop()
            if identity in chosen:  # a new round began with one already taken: try it later
                self._order.insert(0, identity)
                continue
            chosen.append(identity)
        return chosen

    def _take(self, identity: str, k: int) -> np.ndarray:
        """K indices of one identity, cycling through its crops in shuffled order."""
        out: list[int] = []
        queue = self._queues[identity]
        while len(out) < k:
            if not queue:
                queue.extend(self.rng.permutation(self._indices[identity]).tolist())
            candidate = queue.pop()
            if candidate in out and len(self._indices[identity]) >= k:
                queue.insert(0, candidate)
                continue
            out.append(candidate)
        return np.asarray(out, dtype=np.int64)
