"""Descriptors on the host, built exactly as the device builds them (edge/colour.py explains
why a crop is classified by its CNN embedding beside a colour signature). train/ may not import
edge/, so the signature is computed here again; a test checks the two agree bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

HIST_BINS = (16, 8, 8)  # hue, saturation, value: the same as edge.colour.HSV_BINS
# The colour signature's share of the descriptor's cosine, chosen on bench/open_set.py's
# leave-one-swimmer-out folds (the sweep is in bench/results/open_set.json): the highest weight
# below 1 on its grid. Closed-set accuracy on the time split is 99.35 % at every weight from 0
# to 0.9; what colour buys is enrolling (and, a little, refusing) swimmers the CNN never saw.
DEFAULT_COLOUR_WEIGHT = 0.9


def colour_histograms(images: np.ndarray) -> np.ndarray:
    """One L1-normalised HSV histogram (16x8x8 bins, flattened) per uint8 RGB crop."""
    features = np.zeros((len(images), int(np.prod(HIST_BINS))), np.float32)
    for row, rgb in zip(features, images, strict=True):
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256])
        row[:] = hist.ravel() / max(float(hist.sum()), 1.0)
    return features


def histogram_features(images: np.ndarray, hellinger: bool = True) -> np.ndarray:
    """Colour histograms, square-rooted (the Hellinger map: unit rows, and the small cap and
    suit bins count beside the water's) unless `hellinger` is False (the plain baseline)."""
    features = colour_histograms(images)
    return np.sqrt(features) if hellinger else features


def describe(embeddings: np.ndarray, images: np.ndarray, colour_weight: float) -> np.ndarray:
    """Unit-row `embeddings` of uint8 RGB `images` (at the model's input size) -> descriptors:
    `[sqrt(1 - w) * embedding, sqrt(w) * colour signature]`, the embedding alone at w = 0."""
    embeddings = np.asarray(embeddings, np.float32)
    if colour_weight <= 0:
        return embeddings
    weights = np.sqrt(np.float32([1.0 - colour_weight, colour_weight]))
    return np.hstack([weights[0] * embeddings, weights[1] * histogram_features(images)])
