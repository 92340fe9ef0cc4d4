"""Training-time augmentation that keeps colour: the swimmers differ mostly by cap and suit colour.

Geometry (flips, a small rotation) and brightness/contrast applied equally to all three channels
change how a crop looks without changing its hue or saturation. Random erasing is available but
off in the default recipe: it measured worse, because it hides the colour patches that matter.
There is deliberately no hue shift, no desaturation and no channel shuffle.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Augment:
    hflip: bool = True
    vflip: bool = False
    rotate_deg: float = 10.0
    zoom: float = 0.0  # scale factor drawn from 1 +- zoom (the detector's boxes vary in size)
    shift: float = 0.0  # translation, as a fraction of the crop size
    brightness: float = 0.15  # multiplicative, all channels alike
    contrast: float = 0.15
    erase_prob: float = 0.0

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment a uint8 batch (n, H, W, 3); returns float32 0..255 ready for the model."""
        return np.stack([self.one(image, rng) for image in images])

    def one(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = image
        if self.hflip and rng.random() < 0.5:
            out = out[:, ::-1]
        if self.vflip and rng.random() < 0.5:
            out = out[::-1]
        if self.rotate_deg > 0 or self.zoom > 0 or self.shift > 0:
            out = _affine(
                out,
                rng.uniform(-self.rotate_deg, self.rotate_deg),
                1.0 + rng.uniform(-self.zoom, self.zoom),
                rng.uniform(-self.shift, self.shift, size=2),
            )
        out = out.astype(np.float32)
        if self.brightness > 0 or self.contrast > 0:
            gain = 1.0 + rng.uniform(-self.brightness, self.brightness)
            contrast = 1.0 + rng.uniform(-self.contrast, self.contrast)
            mean = out.mean()
            out = (out - mean) * contrast + mean * gain
        if self.erase_prob > 0 and rng.random() < self.erase_prob:
            out = _erase(out, rng)
        return np.clip(out, 0.0, 255.0)


def _affine(image: np.ndarray, degrees: float, scale: float, shift: np.ndarray) -> np.ndarray:
    """Rotate and scale about the centre, then shift; borders reflect (water continues)."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, scale)
    matrix[:, 2] += shift * (w, h)
    return cv2.warpAffine(
        np.ascontiguousarray(image), matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101
    )


def _erase(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random erasing (Zhong et al.): a rectangle of 2-20 % of the area filled with noise."""
    h, w = image.shape[:2]
    area = rng.uniform(0.02, 0.2) * h * w
    aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
    eh = min(h, max(1, round(float(np.sqrt(area * aspect)))))
    ew = min(w, max(1, round(float(np.sqrt(area / aspect)))))
    y, x = rng.integers(0, h - eh + 1), rng.integers(0, w - ew + 1)
    image = image.copy()
    image[y : y + eh, x : x + ew] = rng.uniform(0, 255, (eh, ew, 3))
    return image
