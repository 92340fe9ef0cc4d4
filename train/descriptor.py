"""Crops cut down to their swimmer and described, exactly as the device does it
(edge/vision/colour.py explains why the CNN sees no water and why the descriptor holds the
swimmer's colours beside the embedding). train/ may not import edge/, so it is computed here
again; a test checks the two agree bit for bit. The whole-crop histograms are the colour
baseline of bench/accuracy.py.
"""

from __future__ import annotations

import cv2
import numpy as np

HIST_BINS = (16, 8, 8)  # hue, saturation, value: the same as edge.vision.colour.HSV_BINS
HIST_RANGES = [0, 180, 0, 256, 0, 256]
# Which pixels are the swimmer's: the same values as edge.vision.colour (a test checks them).
HUE_TOL, SV_TOL, SIDE_MARGIN = 12, 90, 0.15
# The signature's share of the descriptor's cosine, chosen on the farthest bin of the session
# drift protocol (bench/drift.py; the sweep is in bench/results/drift.json): with the track
# threshold at the lowest held-out track score, the highest weight that still names every known
# swimmer's far tracks (100 %); it answers a stranger's tracks unknown 47 % of the time alone and
# 87 % beside the others, against 27 % and 84 % at 0.5 and 13 % and 62 % for the CNN alone.
# Above it the known swimmers' far tracks start to fall under the threshold (98.6 % at 0.7).
DEFAULT_COLOUR_WEIGHT = 0.6


def channel_medians(pixels: np.ndarray) -> np.ndarray:
    """`np.median(pixels.reshape(-1, 3), axis=0)` of uint8 pixels, found by counting: ten times
    faster, and the median is computed three times per crop on the Pi."""
    flat = pixels.reshape(-1, 3)
    middle = ((len(flat) - 1) // 2, len(flat) // 2)  # the two middle ranks (one when odd)
    out = np.empty(3)
    for channel in range(3):
        counts = np.cumsum(np.bincount(flat[:, channel], minlength=256))
        out[channel] = np.searchsorted(counts, middle, side="right").mean()
    return out


def swimmer_mask(hsv: np.ndarray) -> np.ndarray:
    """uint8 mask (1 = swimmer) of an HSV crop: central band, away from the median colour."""
    water = channel_medians(hsv).astype(np.int16)
    diff = np.abs(hsv.astype(np.int16) - water)
    hue = np.minimum(diff[..., 0], 180 - diff[..., 0])
    mask = (hue > HUE_TOL) | (diff[..., 1] > SV_TOL) | (diff[..., 2] > SV_TOL)
    side = int(mask.shape[1] * SIDE_MARGIN)
    mask[:, :side] = False
    mask[:, mask.shape[1] - side :] = False
    return mask.astype(np.uint8)


def flatten_water(images: np.ndarray) -> np.ndarray:
    """edge.vision.colour.flatten_water: every pixel but the swimmer's set to the crop's median
    colour. The CNN is trained on such crops; the device cuts its crops down the same way."""
    out = np.array(images, dtype=np.uint8, copy=True)
    for rgb in out:
        keep = swimmer_mask(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)).astype(bool)
        rgb[~keep] = channel_medians(rgb).astype(np.uint8)
    return out


def colour_histograms(images: np.ndarray, swimmer_only: bool = False) -> np.ndarray:
    """One L1-normalised HSV histogram (16x8x8 bins, flattened) per uint8 RGB crop: of the
    whole crop, or of its swimmer's pixels (`swimmer_mask`)."""
    features = np.zeros((len(images), int(np.prod(HIST_BINS))), np.float32)
    for row, rgb in zip(features, images, strict=True):
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
        mask = swimmer_mask(hsv) if swimmer_only else None
        hist = cv2.calcHist([hsv], [0, 1, 2], mask, list(HIST_BINS), HIST_RANGES).ravel()
        row[:] = hist / max(float(hist.sum()), 1.0)
    return features


def histogram_features(images: np.ndarray, hellinger: bool = True) -> np.ndarray:
    """Whole-crop colour histograms (the baseline), square-rooted (the Hellinger map: unit rows,
    and the small cap and suit bins count beside the water's) unless `hellinger` is False."""
    features = colour_histograms(images)
    return np.sqrt(features) if hellinger else features


def swimmer_signature(images: np.ndarray) -> np.ndarray:
    """edge.vision.colour.colour_signature: square-rooted histograms of the swimmer's pixels."""
    return np.sqrt(colour_histograms(images, swimmer_only=True))


def describe(embeddings: np.ndarray, images: np.ndarray, colour_weight: float) -> np.ndarray:
    """Unit-row `embeddings` of uint8 RGB `images` (at the model's input size) -> descriptors:
    `[sqrt(1 - w) * embedding, sqrt(w) * swimmer signature]`, the embedding alone at w = 0."""
    embeddings = np.asarray(embeddings, np.float32)
    if colour_weight <= 0:
        return embeddings
    weights = np.sqrt(np.float32([1.0 - colour_weight, colour_weight]))
    return np.hstack([weights[0] * embeddings, weights[1] * swimmer_signature(images)])
