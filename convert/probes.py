"""The probe set reid-convert puts in a bundle for the on-device check (edge/probes.py).

A few held-out crops per swimmer, the ones the host answers right with the most room to spare,
stored at the model's input size with the host's float32 and int8 embeddings, answers, scores
and margins. They run through the very edge code the Pi runs (`Identifier`), so the only thing
that can differ on the Pi is its runtime's arithmetic, which the limits below bound.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from edge.bundle import Bundle
from edge.probes import PROBES, UNKNOWN
from edge.vision.colour import describe
from edge.vision.embed import Embedder
from edge.vision.identify import Identifier
from edge.vision.preprocess import resize_crop
from edge.vision.runtime import runtime_name

PER_SWIMMER = 3
# Limits the Pi must reproduce the host within. `make pi-check` (arm64 under emulation against
# x86-64) measured probe cosines of 0.9966 and 0.9993 at worst and probe scores at most 0.0004
# and 0.0016 apart (a bundle trained on the real crops; the demo's synthetic one). Any crop's
# score moved more: up to 0.0050 with LiteRT, and 0.0098 between tflite-runtime and LiteRT on
# arm64. The score limit covers the largest of those: a device past it computes unlike any
# runtime tested. A model swapped for another gives cosines far below the cosine limit.
MIN_COSINE = 0.97
MAX_SCORE_DIFF = 0.01


def make_probes(
    bundle: Bundle, crops: list[np.ndarray], labels: list[str]
) -> tuple[bytes, dict[str, Any]]:
    """probes.npz's bytes and the manifest's `probes` entry, from held-out crops."""
    identifier = Identifier.from_bundle(bundle)
    size = (bundle.input_height, bundle.input_width)
    images = np.stack([resize_crop(c, *size) for c in crops])
    pixels = identifier.embedder.pixels(list(images))
    int8 = identifier.embedder.embed_pixels(pixels)
    descriptors = describe(int8, pixels, identifier.colour_weight)  # as Identifier.describe
    predictions = identifier.classifier.predict(descriptors)
    ranked = np.sort(identifier.classifier.similarities(descriptors), axis=1)
    scores = np.array([p.score for p in predictions])
    margins = np.minimum(ranked[:, -1] - ranked[:, -2], scores - bundle.unknown_threshold)
    chosen = _choose(labels, [p.swimmer_id for p in predictions], margins)
    float32 = Embedder(bundle.float_model_path, *size).embed_pixels(pixels[chosen])
    buffer = io.BytesIO()
    np.savez(
        buffer,
        images=images[chosen],
        labels=np.array(labels)[chosen],
        int8=int8[chosen],
        float32=float32,
        answers=np.array([predictions[i].swimmer_id or UNKNOWN for i in chosen]),
        scores=scores[chosen],
        margins=margins[chosen],
    )
    spec = {
        "file": PROBES,
        "count": len(chosen),
        "min_cosine": MIN_COSINE,
        "max_score_diff": MAX_SCORE_DIFF,
        "host_runtime": runtime_name(),
    }
    return buffer.getvalue(), spec


def _choose(labels: list[str], answers: list[str | None], margins: np.ndarray) -> list[int]:
    """Per swimmer, the `PER_SWIMMER` crops answered right with the largest margins (or, for a
    swimmer with too few right answers, its largest margins all the same)."""
    chosen = []
    for swimmer in sorted(set(labels)):
        rows = [i for i, label in enumerate(labels) if label == swimmer]
        rows.sort(key=lambda i: (answers[i] != swimmer, -margins[i]))
        chosen += rows[:PER_SWIMMER]
    return chosen
