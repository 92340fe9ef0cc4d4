"""Builders for the quantization tests: a tiny embedder, synthetic crops, a RUN and a bundle.

The stand-in model has the contract's layer names ("embedding", "l2_norm") and the real model's
kinds of layer, but only a few thousand weights, so converting it takes about a second.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np

HEIGHT, WIDTH = 16, 12
IDENTITIES = ("1", "2", "3")
FRAMES = 16
COLOURS = {"1": (220, 40, 40), "2": (40, 200, 60), "3": (50, 60, 230)}


def tiny_embedder(height: int = HEIGHT, width: int = WIDTH, seed: int = 0):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((height, width, 3), dtype="float32", name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 3, padding="same", name="conv2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(128, name="embedding")(x)
    x = layers.UnitNormalization(axis=-1, name="l2_norm")(x)
    return keras.Model(inputs, x, name="embedder")


def crop(identity: str, frame: int, size: tuple[int, int] = (28, 18)) -> np.ndarray:
    """An RGB uint8 crop: the identity's colour, a darker stripe, a little per-frame noise."""
    rng = np.random.default_rng(frame * 31 + int(identity))
    image = np.empty((*size, 3), np.uint8)
    image[:] = COLOURS[identity]
    image[size[0] // 3 : size[0] // 2] //= 2
    noise = rng.integers(-12, 13, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)


def write_data(root: Path) -> Path:
    """DIR with one folder per identity of frame_<n>.png crops (time split leaves 3 for test)."""
    for identity in IDENTITIES:
        folder = root / identity
        folder.mkdir(parents=True)
        for frame in range(1, FRAMES + 1):
            bgr = cv2.cvtColor(crop(identity, frame), cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(folder / f"frame_{frame}.png"), bgr)
    return root


def write_run(root: Path, data: Path, model=None) -> Path:
    """A RUN folder as reid-train writes it (embedder.keras, run.json, classifier.npz)."""
    from train.data import list_samples, load_images
    from train.svm import export_classifier, fit_classifier, save_classifier

    model = model or tiny_embedder()
    root.mkdir(parents=True)
    model.save(root / "embedder.keras")
    images, kept, _ = load_images(list_samples(data), HEIGHT, WIDTH)
    labels = [s.identity for s in kept]
    gallery = np.asarray(model(images.astype(np.float32), training=False))
    save_classifier(
        root / "classifier.npz", export_classifier(fit_classifier(gallery, labels), gallery, labels)
    )
    info = {
        "input": {
            "height": HEIGHT,
            "width": WIDTH,
            "channel_order": "RGB",
            "normalization": "raw uint8 0-255",
        },
        "embedding_size": 128,
        "identities": list(IDENTITIES),
        "unknown_threshold": -1.0,
        "track_threshold": -1.0,
        "calibration": {"method": "none: the tiny model names everyone"},
        "data": str(data),
        "split": "time",
        "seed": 0,
        "created": "2026-01-01T00:00:00+00:00",
    }
    (root / "run.json").write_text(json.dumps(info))
    return root


def build_bundle(tmp: Path) -> tuple[Path, Path]:
    """DIR and a bundle converted from a tiny RUN: (data, bundle_dir); bundle_dir.tar.gz too."""
    from convert.build import representative_images
    from convert.bundle_writer import BundleContents, write_bundle
    from convert.quantize import convert

    data = write_data(tmp / "data")
    model = tiny_embedder()
    run = write_run(tmp / "run", data, model)
    with contextlib.redirect_stdout(io.StringIO()):
        models = convert(model, representative_images(data, HEIGHT, WIDTH))
    contents = BundleContents(
        int8_model=models.int8,
        float_model=models.float32,
        classifier=run / "classifier.npz",
        height=HEIGHT,
        width=WIDTH,
        embedding_size=128,
        colour_weight=0.0,
        identities={i: f"Swimmer {i}" for i in IDENTITIES},
        unknown_threshold=-1.0,
        track_threshold=-1.0,
        calibration={"method": "none: the tiny model names everyone"},
        source_run=str(run),
    )
    return data, write_bundle(contents, tmp / "bundle")
