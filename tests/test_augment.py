"""Augmentation changes geometry and light but never the hue the swimmers are told apart by."""

from __future__ import annotations

import cv2
import numpy as np

from train.augment import Augment


def _hue(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)[..., 0]


def test_brightness_and_contrast_keep_the_hue():
    rng = np.random.default_rng(0)
    image = rng.integers(60, 190, (1, 16, 10, 3)).astype(np.uint8)
    light = Augment(hflip=False, rotate_deg=0, brightness=0.15, contrast=0.15)
    for seed in range(5):
        out = light(image, np.random.default_rng(seed))[0]
        inside = (out > 0).all(axis=-1) & (out < 255).all(axis=-1)  # unclipped pixels
        assert np.allclose(_hue(out)[inside], _hue(image[0])[inside], atol=0.05)


def test_no_augmentation_is_the_identity():
    image = np.random.default_rng(1).integers(0, 256, (2, 12, 8, 3)).astype(np.uint8)
    off = Augment(hflip=False, rotate_deg=0, brightness=0, contrast=0)
    out = off(image, np.random.default_rng(0))
    assert out.dtype == np.float32 and np.array_equal(out, image.astype(np.float32))


def test_flip_mirrors_and_geometry_keeps_shape_and_range():
    image = np.zeros((1, 12, 8, 3), np.uint8)
    image[0, :, :4] = (255, 0, 0)
    flip = Augment(hflip=True, rotate_deg=0, brightness=0, contrast=0)
    outs = [flip(image, np.random.default_rng(s))[0] for s in range(8)]
    assert any(np.array_equal(o[:, ::-1], image[0]) for o in outs)
    heavy = Augment(rotate_deg=15, zoom=0.2, shift=0.1, erase_prob=1.0)
    out = heavy(np.repeat(image, 4, axis=0), np.random.default_rng(0))
    assert out.shape == (4, 12, 8, 3) and out.min() >= 0 and out.max() <= 255
