"""The compact embedding CNN: six Conv/BN/ReLU stacks, global pooling, a 128-d unit embedding.

Only plain layers (Conv2D, BatchNormalization, ReLU, MaxPooling2D, GlobalAveragePooling2D, Dense)
so that the int8 TFLite converter maps every op to a quantized kernel on the Pi. The model takes
raw RGB pixels 0..255 as float32 and rescales them itself, so the device never has to know the
normalisation. The last two layers are named "embedding" and "l2_norm" (the bundle contract).
"""

from __future__ import annotations

import keras
from keras import layers

EMBEDDING_SIZE = 128
# 180x280 crops at about their aspect (1.56 vs 1.6). Measured on the real crops, time split,
# 3 seeds (bench/accuracy.py; notes in the training report): 128x80 98.6 % mean, 96x60 97.3 %,
# 64x40 97.1 %, 32x20 96.1 %: the caps that tell the black-suited swimmers apart are a few
# pixels wide. 128x80 costs about 27 M multiply-adds per crop, a few ms int8 on a Pi 4.
DEFAULT_HEIGHT = 128
DEFAULT_WIDTH = 80
FILTERS = (16, 32, 32, 64, 64, 128)
# Keras' default 0.99 leaves the inference statistics far from the batch ones after a few hundred
# steps (short runs then embed everything into one tight cone); 0.9 settles within ~50 steps.
BN_MOMENTUM = 0.9


def build_backbone(height: int, width: int) -> keras.Model:
    """Rescaling, then six conv stacks; pooling halves the map while it is at least 2 pixels."""
    inputs = keras.Input((height, width, 3), dtype="float32", name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    size = min(height, width)
    for i, filters in enumerate(FILTERS, start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        if i < len(FILTERS) and size >= 4:
            x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
            size //= 2
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, x, name="backbone")


def build_embedder(height: int, width: int, embedding_size: int = EMBEDDING_SIZE) -> keras.Model:
    """The exported model: backbone -> Dense "embedding" -> "l2_norm" (unit vectors)."""
    backbone = build_backbone(height, width)
    x = layers.Dense(embedding_size, name="embedding")(backbone.output)
    # A built-in layer (not a Lambda or a custom class): the saved model reloads anywhere.
    x = layers.UnitNormalization(axis=-1, name="l2_norm")(x)
    return keras.Model(backbone.input, x, name="embedder")


def build_classifier_cnn(height: int, width: int, n_classes: int) -> keras.Model:
    """The cross-entropy baseline: the same backbone with a softmax head instead of an embedding."""
    backbone = build_backbone(height, width)
    x = layers.Dense(n_classes, activation="softmax", name="probabilities")(backbone.output)
    return keras.Model(backbone.input, x, name="ce_classifier")
