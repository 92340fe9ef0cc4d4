"""Turning crops into model input and model output into embeddings, in plain numpy.

Resizing uses area interpolation, exactly as `train.data.resize` does, so the device feeds the
network what training fed it. Quantization follows the TFLite convention
`real = scale * (q - zero_point)`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.errors import ImageError

# Embeddings with a smaller norm are treated as zero rather than blown up by the division.
NORM_EPSILON = 1e-12


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to RGB uint8; an unreadable file is an `ImageError` naming it."""
    path = Path(path)
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as error:
        raise ImageError(f"{path}: cannot read ({error.strerror or error})") from error
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageError(f"{path}: not a decodable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize_crop(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """A crop of any size as `height`×`width`×3 uint8, by area interpolation."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageError(f"crop must be a non-empty H×W×3 RGB image, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ImageError(f"crop must be uint8 RGB, got {rgb.dtype}")
    if rgb.shape[:2] == (height, width):
        return rgb
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def quantize(values: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """Real values to a quantized integer tensor; `scale == 0` means the tensor is not quantized."""
    if not scale:
        return values.astype(dtype)
    if values.dtype == np.uint8 and scale == 1.0:
        # Raw pixels into a unit-scale input (the int8 model's case): integer work only.
        if np.dtype(dtype) == np.uint8 and zero_point == 0:
            return values
        if np.dtype(dtype) == np.int8 and zero_point == -128:
            return np.bitwise_xor(values, np.uint8(0x80)).view(np.int8)
    info = np.iinfo(dtype)
    q = np.round(values.astype(np.float32) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """A quantized tensor back to float32; float tensors pass through unchanged."""
    if not scale:
        return values.astype(np.float32)
    return (values.astype(np.float32) - zero_point) * np.float32(scale)


def l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (done here, not in the graph: it quantizes badly in int8)."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return (embeddings / np.maximum(norms, NORM_EPSILON)).astype(np.float32)
