"""Crops in, L2-normalised embeddings out: a thin typed wrapper around one TFLite interpreter.

The same class runs the float32 and the int8 model (reid-check compares them through it), so
input quantization, batching and output dequantization are read from the model itself, never
assumed (the shipped int8 model happens to take and return float32; see convert/quantize.py).
The graph ends at the "embedding" layer and normalisation happens here in float32: a unit-norm
int8 output would spread 128 values in [-1, 1] over one scale's 256 levels.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edge.errors import ModelError
from edge.vision.colour import flatten_water
from edge.vision.preprocess import dequantize, l2_normalize, quantize, resize_crop
from edge.vision.runtime import make_interpreter

log = logging.getLogger(__name__)

# Crops per interpreter call: big enough to amortise call overhead, small enough for a Pi.
MAX_BATCH = 16


class Embedder:
    """Embeds RGB uint8 crops of any size with the model at `model_path`."""

    def __init__(self, model_path: str | Path, height: int, width: int, threads: int = 1) -> None:
        self.model_path = Path(model_path)
        self.height, self.width = height, width
        self._interpreter = make_interpreter(self.model_path, threads=threads)
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{self.model_path}: expected one input and one output tensor")
        self._input, self._output = inputs[0], outputs[0]
        shape = tuple(int(d) for d in self._input["shape"])
        if shape[1:] != (height, width, 3):
            raise ModelError(
                f"{self.model_path}: model input is {shape[1:]}, expected {(height, width, 3)}"
            )
        if len(self._output["shape"]) != 2:
            raise ModelError(f"{self.model_path}: output shape {self._output['shape']} is not 2-D")
        self.embedding_size = int(self._output["shape"][1])
        self._batch = int(shape[0])
        self._resizable = True

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self._input["dtype"])

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """(n, embedding_size) float32 unit vectors, one per crop, in order."""
        return self.embed_pixels(self.pixels(crops))

    def pixels(self, crops: list[np.ndarray]) -> np.ndarray:
        """Crops of any size as the model's (n, H, W, 3) uint8 input: resized, and cut down to
        the swimmer (edge.vision.colour.flatten_water: the model never saw water)."""
        if not crops:
            return np.zeros((0, self.height, self.width, 3), np.uint8)
        return flatten_water(np.stack([resize_crop(c, self.height, self.width) for c in crops]))

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """`embed` for crops already resized by `pixels`."""
        if not len(pixels):
            return np.zeros((0, self.embedding_size), np.float32)
        chunks = [self._run(pixels[i : i + MAX_BATCH]) for i in range(0, len(pixels), MAX_BATCH)]
        return l2_normalize(np.concatenate(chunks))

    def raw(self, pixels: np.ndarray) -> np.ndarray:
        """Dequantized, un-normalised outputs for already-resized (n, H, W, 3) uint8 pixels."""
        return self._run(pixels)

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        if not self._ensure_batch(len(pixels)):
            return np.concatenate([self._run(pixels[i : i + 1]) for i in range(len(pixels))])
        scale, zero_point = self._input["quantization"]
        tensor = quantize(pixels, scale, zero_point, self.input_dtype)
        self._interpreter.set_tensor(self._input["index"], tensor)
        self._interpreter.invoke()
        out = self._interpreter.get_tensor(self._output["index"])
        return dequantize(out, *self._output["quantization"])

    def _ensure_batch(self, n: int) -> bool:
        """Resize the input to a batch of `n` if the runtime allows; False: go one by one."""
        if n == self._batch:
            return True
        if not self._resizable:
            return n == 1 and self._batch == 1
        try:
            self._interpreter.resize_tensor_input(
                self._input["index"], [n, self.height, self.width, 3], strict=False
            )
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            log.info("%s: batch resize refused (%s); embedding one by one", self.model_path, error)
            self._resizable = False
            self._interpreter.resize_tensor_input(
                self._input["index"], [self._batch, self.height, self.width, 3], strict=False
            )
            self._interpreter.allocate_tensors()
            return n == 1 and self._batch == 1
        self._batch = n
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        return True
