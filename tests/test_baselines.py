"""The baselines run and tell plainly coloured crops apart."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from train.baselines import (
    fit_histogram_svm,
    predict_ce_cnn,
    predict_histogram_svm,
    train_ce_cnn,
)
from train.descriptor import colour_histograms
from train.fit import Recipe

COLOURS = {"red": (200, 30, 30), "green": (30, 180, 40), "yellow": (220, 210, 40)}


def _crops(per_identity: int, seed: int, size=(16, 10)):
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for name, rgb in COLOURS.items():
        for _ in range(per_identity):
            image = np.full((*size, 3), (40, 150, 200), np.uint8)  # water
            y, x = rng.integers(0, size[0] - 6), rng.integers(0, size[1] - 4)
            image[y : y + 6, x : x + 4] = rgb
            images.append(np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8))
            labels.append(name)
    return np.stack(images), labels


def test_histograms_are_normalised_per_crop():
    images, _ = _crops(2, seed=0)
    features = colour_histograms(images)
    assert features.shape == (6, 16 * 8 * 8)
    assert np.allclose(features.sum(axis=1), 1.0)


def test_histogram_svm_separates_colours():
    (train_x, train_y), (test_x, test_y) = _crops(8, seed=0), _crops(4, seed=1)
    predicted = predict_histogram_svm(fit_histogram_svm(train_x, train_y), test_x)
    assert predicted == test_y


def test_ce_cnn_trains_and_predicts_known_identities():
    images, labels = _crops(8, seed=0)
    recipe = replace(Recipe(), height=16, width=10, epochs=2, batches_per_epoch=3, p=3, k=4)
    model, identities = train_ce_cnn(images, labels, recipe)
    assert identities == sorted(COLOURS)
    predicted = predict_ce_cnn(model, identities, images)
    assert len(predicted) == len(images) and set(predicted) <= set(COLOURS)
