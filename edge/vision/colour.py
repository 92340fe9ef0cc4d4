"""What of a crop is the swimmer: the pixels the CNN and the colour signature are allowed to see.

Why: fitted on the first half of each swimmer's frames, a CNN that saw whole crops named 67 %
of the farthest later frames right (nearest gallery row; bench/drift.py), and a colour
histogram of whole crops 32 %: most of a crop is water, and the water, the lane rope's place in
the crop and the light all drift over a session. The swimmer's cap, suit and skin do not.

So every crop is cut down to its swimmer before anything looks at it (`flatten_water`): the
pixels of the crop's central band (`SIDE_MARGIN` cut off each side, where the lane ropes run)
that differ from the crop's own water colour, its median pixel, by more than `HUE_TOL` in hue or
`SV_TOL` in saturation or value (OpenCV HSV units), are kept; every other pixel becomes that
median colour. The CNN is trained and run on such crops (92 % on the same farthest frames), and
the colour signature is a square-rooted HSV histogram of the swimmer's pixels alone (94 %).
The tolerances and margin were chosen on those frames (bench/results/drift.json).

The descriptor is `[sqrt(1 - w) * embedding, sqrt(w) * signature]`, both parts unit rows, so it
is a unit row too and the cosine of two descriptors is `(1 - w) * cos(embeddings) + w *
cos(signatures)`: the SVM, the gallery and the track scores all see one weighted similarity.
`w` is the bundle's `colour_weight`; 0 is the plain embedding.

train.descriptor does the same on the host (train/ may not import edge/); a test checks that
the two agree bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

# Hue, saturation, value bins; square-rooted (the Hellinger map) so a cap's few pixels count.
HSV_BINS = (16, 8, 8)
HSV_RANGES = [0, 180, 0, 256, 0, 256]
SIGNATURE_SIZE = int(np.prod(HSV_BINS))
HUE_TOL = 12  # a pixel further than this from the water's hue (of 180) is the swimmer's...
SV_TOL = 90  # ...and so is one further than this in saturation or value (of 256)
SIDE_MARGIN = 0.15  # share of the crop's width left out on each side: the lane ropes


def channel_medians(pixels: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """`np.median(pixels.reshape(-1, 3), axis=0)` of uint8 pixels (of those where `mask` > 0,
    when given; NaN when none), found by counting (OpenCV's histograms): ten times faster, and
    the median is computed three times per crop and once a frame for the water."""
    flat = np.ascontiguousarray(pixels).reshape(-1, 1, 3)
    where = None if mask is None else np.ascontiguousarray(mask, np.uint8).reshape(-1, 1)
    counts = np.cumsum([cv2.calcHist([flat], [c], where, [256], [0, 256]).ravel()
                        for c in range(3)], axis=1)  # fmt: skip
    n = int(counts[0, -1])
    if not n:
        return np.full(3, np.nan)
    # The levels of the two middle ranks (one when odd): how many levels have counted past each.
    low, high = ((counts <= rank).sum(axis=1) for rank in ((n - 1) // 2, n // 2))
    return (low + high) / 2


def swimmer_mask(hsv: np.ndarray) -> np.ndarray:
    """uint8 mask (1 = swimmer) of an HSV crop: central band, away from the median colour.
    On a crop that `flatten_water` already cut down, it is the same swimmer (the water is all
    one colour, the median, which no swimmer pixel is). train.descriptor.swimmer_mask in
    OpenCV's saturating uint8 arithmetic (a test checks they agree): every crop the daemon
    describes needs it twice, and numpy's int16 copies made it the costliest step of a crop."""
    water = channel_medians(hsv).astype(np.int16)  # whole levels, as the host truncates them
    away = cv2.absdiff(hsv, (*water.tolist(), 0))
    # Water-like: within the tolerances, the hue on its circle (a hue 168 away is 12 away).
    near = cv2.inRange(away, (0, 0, 0), (HUE_TOL, SV_TOL, SV_TOL))
    near |= cv2.inRange(away, (180 - HUE_TOL, 0, 0), (255, SV_TOL, SV_TOL))
    mask = (near == 0).view(np.uint8)
    side = int(mask.shape[1] * SIDE_MARGIN)
    mask[:, :side] = 0
    mask[:, mask.shape[1] - side :] = 0
    return mask


def flatten_water(pixels: np.ndarray) -> np.ndarray:
    """RGB uint8 crops (n, H, W, 3) with every pixel but the swimmer's set to the crop's median
    colour: what the CNN sees, in training and on the device. Each crop is filled with its
    water colour, then its swimmer's pixels are copied over it: numpy's copy of one colour
    under a mask (`np.copyto(..., where=)`) made this 0.61 ms a 128x80 crop, now 0.37 (212
    crops of the club session), about 1.2 ms of a frame there."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    out = np.empty_like(pixels)
    for rgb, flat in zip(pixels, out, strict=True):
        swimmer = swimmer_mask(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV))
        water = channel_medians(rgb).astype(np.uint8)
        flat.reshape(len(flat), -1)[:] = np.tile(water, flat.shape[1])  # rows of that colour
        cv2.copyTo(rgb, swimmer, flat)
    return out


def colour_signature(pixels: np.ndarray) -> np.ndarray:
    """(n, SIGNATURE_SIZE) float32 unit rows (zero rows for crops that are all water):
    square-rooted HSV histograms of the swimmer's pixels of RGB uint8 crops."""
    rows = np.zeros((len(pixels), SIGNATURE_SIZE), np.float32)
    for row, rgb in zip(rows, pixels, strict=True):
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
        mask = swimmer_mask(hsv)
        hist = cv2.calcHist([hsv], [0, 1, 2], mask, list(HSV_BINS), HSV_RANGES).ravel()
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
