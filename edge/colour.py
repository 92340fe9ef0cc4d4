"""The descriptor a crop is classified by: the CNN embedding beside a colour signature.

Why not the embedding alone: a CNN trained with a triplet loss on a handful of swimmers keeps
only what tells *those* swimmers apart. A swimmer it never saw is mapped onto a known one
(cosine 0.83-0.99), so enrolling a new swimmer without retraining fails (77.7 % of the enrolled
swimmer's later frames identified) and an unknown one is almost never refused. A colour
histogram was never trained on anyone, so it keeps cap, suit and skin colours for every
swimmer. bench/open_set.py measures both and their mixes (bench/results/open_set.json).

The descriptor is `[sqrt(1 - w) * embedding, sqrt(w) * signature]`, both parts unit rows, so it
is a unit row too and the cosine of two descriptors is `(1 - w) * cos(embeddings) + w *
cos(signatures)`: the SVM and the open-set score see one weighted similarity. `w` is the
bundle's `colour_weight`; 0 is the plain embedding (bundles written before it existed).

train.baselines computes the same signature on the host (train/ may not import edge/); a test
checks that the two agree bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

# Hue, saturation, value bins. The caps that tell the dark-suited swimmers apart cover a few
# percent of a crop; the square root (Hellinger map) keeps those small bins from drowning in water.
HSV_BINS = (16, 8, 8)
HSV_RANGES = [0, 180, 0, 256, 0, 256]
SIGNATURE_SIZE = int(np.prod(HSV_BINS))


def colour_signature(pixels: np.ndarray) -> np.ndarray:
    """(n, SIGNATURE_SIZE) float32 unit rows: square-rooted HSV histograms of RGB uint8 crops."""
    rows = np.zeros((len(pixels), SIGNATURE_SIZE), np.float32)
    for row, rgb in zip(rows, pixels, strict=True):
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HSV_BINS), HSV_RANGES).ravel()
        row[:] = np.sqrt(hist / max(float(hist.sum()), 1.0))
    return rows


def descriptor_size(embedding_size: int, colour_weight: float) -> int:
    return embedding_size + (SIGNATURE_SIZE if colour_weight > 0 else 0)


def describe(embeddings: np.ndarray, pixels: np.ndarray, colour_weight: float) -> np.ndarray:
    """Unit-row `embeddings` of the crops `pixels` (as fed to the model) -> their descriptors."""
    embeddings = np.asarray(embeddings, np.float32)
    if colour_weight <= 0:
        return embeddings
    weights = np.sqrt(np.float32([1.0 - colour_weight, colour_weight]))
    return np.hstack([weights[0] * embeddings, weights[1] * colour_signature(pixels)])
