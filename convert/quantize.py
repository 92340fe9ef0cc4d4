"""Keras embedder -> TFLite float32 and int8, both cut at the "embedding" layer.

Measured on the real crops (bench/quantization.py, bench/results/quantization.json):
- The cut. The graph ends at the Dense "embedding" layer and the device normalises in numpy
  (edge.vision.preprocess.l2_normalize): a unit-norm output shares one int8 scale over 128 values in
  [-1, 1] and an int8 L2 normalisation is a known accuracy trap; with Keras 3 / TF 2.21 the
  converter also leaves "l2_norm" as five float ops outside the int8 graph, a second delegate
  partition for nothing.
- The first convolution stays float32. Later time-split frames give embeddings of small norm
  (min 1.1 against 3.3 on the training frames), where int8 errors turn into large angles:
  fully int8, cosine to float32 had a 1st percentile of 0.97 and accuracy fell ~1 point.
  Quantizing one layer at a time showed the first convolution (3 input channels, raw pixels)
  is nearly all of it: kept float, the 1st percentile is 0.993 and the drop 0 to 1 crop. It
  costs nothing: on XNNPACK that layer is no faster in int8 (3 input channels), and the model
  is 1 KB larger. Every other op (5 convs, pools, mean, dense) is int8.
So the model takes float32 raw pixels 0..255 and returns the float32 "embedding" (a QUANTIZE
after the first conv, a DEQUANTIZE at the end); edge.vision.embed reads the I/O types from the
model.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)

EMBEDDING_LAYER = "embedding"
# Calibration crops: all of a usual training split; more did not change the ranges measurably.
REPRESENTATIVE_SIZE = 1000


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


def quiet_convert(convert) -> bytes:
    """Run a conversion without the converter's stdout listing and its benign warnings."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        return convert()


def to_float32(model: tf.keras.Model) -> bytes:
    """The float32 model, the reference the int8 one is checked against."""
    return quiet_convert(tf.lite.TFLiteConverter.from_keras_model(model).convert)


def first_conv_output(float_model: bytes) -> str | None:
    """Name of the first CONV_2D's output tensor in a converted float model (None: no conv)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        interpreter = tf.lite.Interpreter(model_content=float_model)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    for op in interpreter._get_ops_details():
        if op["op_name"] == "CONV_2D":
            return names[op["outputs"][0]]
    return None


def to_int8(model: tf.keras.Model, images: np.ndarray, float_model: bytes | None = None) -> bytes:
    """int8 weights and activations except the first convolution; `images` (n, H, W, 3) uint8
    calibrate the activation ranges."""

    def dataset() -> Iterator[list[np.ndarray]]:
        for image in images:
            yield [image[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
        tf.lite.OpsSet.TFLITE_BUILTINS,  # the float first convolution
    ]
    keep_float = first_conv_output(float_model or to_float32(model))
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_nodes=[keep_float] if keep_float else []
    )
    # The debugger is TFLite's selective-quantization tool: it converts with the denylist.
    return quiet_convert(
        lambda: tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=dataset, debug_options=options
        ).get_nondebug_quantized_model()
    )


def convert(model: tf.keras.Model, images: np.ndarray) -> Converted:
    """Both models from the full embedder; `images` is the representative set (uint8)."""
    edge_model = cut_at_embedding(model)
    log.info("converting to float32 and int8 (%d calibration crops)", len(images))
    float32 = to_float32(edge_model)
    return Converted(float32=float32, int8=to_int8(edge_model, images, float32))
