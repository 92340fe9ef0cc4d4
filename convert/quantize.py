"""Keras embedder -> TFLite float32 and full-integer int8, both cut at the "embedding" layer.

Why the cut: the last layer, "l2_norm", divides by a norm computed in int8; its output has 128
values in [-1, 1] sharing one scale, so most of them land on a handful of levels and the cosine
to the float embedding falls to ~0.7. The Dense "embedding" output keeps its own range and
quantizes well; the device normalises it in numpy (edge.preprocess.l2_normalize).

The int8 model takes raw uint8 pixels (the input scale is 1, zero point 0, so quantizing the
input is exact and costs nothing) and returns int8 embeddings that edge.embed dequantizes.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)

EMBEDDING_LAYER = "embedding"
# Enough crops to pin every activation range, few enough that calibration takes seconds.
REPRESENTATIVE_SIZE = 300


@dataclass(frozen=True)
class Converted:
    """The two flatbuffers, ready to be written into a bundle."""

    float32: bytes
    int8: bytes


def cut_at_embedding(model: tf.keras.Model) -> tf.keras.Model:
    """The same weights, ending at the un-normalised "embedding" layer."""
    return tf.keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).output, name="edge")


def representative_indices(labels: list[str], size: int = REPRESENTATIVE_SIZE) -> np.ndarray:
    """Up to `size` indices, an equal share per identity, spread evenly over each one's frames
    (early and late), so calibration sees every swimmer and every part of every sequence."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    share = -(-size // max(len(by_label), 1))  # ceil: a short identity's slack goes unused
    picked: list[int] = []
    for indices in by_label.values():
        spots = np.linspace(0, len(indices) - 1, min(len(indices), share)).round().astype(int)
        picked += [indices[j] for j in np.unique(spots)]
    return np.array(sorted(picked)[:size] if len(picked) <= size else _thin(picked, size))


def _thin(picked: list[int], size: int) -> list[int]:
    """Evenly spaced `size` of `picked` (sorted), when the per-identity shares overshoot."""
    ordered = sorted(picked)
    return [ordered[j] for j in np.linspace(0, len(ordered) - 1, size).round().astype(int)]


def _converter(model: tf.keras.Model) -> tf.lite.TFLiteConverter:
    """A converter for `model` with a free batch dimension (the device resizes it to batch)."""
    return tf.lite.TFLiteConverter.from_keras_model(model)


def to_float32(model: tf.keras.Model) -> bytes:
    """The float32 model, the reference the int8 one is checked against."""
    return _converter(model).convert()


def to_int8(model: tf.keras.Model, images: np.ndarray) -> bytes:
    """Full-integer int8 with uint8 input; `images` (n, H, W, 3) uint8 calibrate the ranges."""
    converter = _converter(model)

    def dataset() -> Iterator[list[np.ndarray]]:
        for image in images:
            yield [image[None].astype(np.float32)]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.int8
    with warnings.catch_warnings():
        # Raw pixels need no input statistics (the input scale is 1); the warning is noise.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return converter.convert()


def convert(model: tf.keras.Model, images: np.ndarray) -> Converted:
    """Both models from the full embedder; `images` is the representative set (uint8)."""
    edge_model = cut_at_embedding(model)
    log.info("converting to float32 and int8 (%d calibration crops)", len(images))
    return Converted(float32=to_float32(edge_model), int8=to_int8(edge_model, images))
