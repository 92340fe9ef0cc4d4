"""edge.vision.embed and edge.vision.preprocess: the device's path from crops to unit embeddings."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from tiny_bundle import HEIGHT, IDENTITIES, WIDTH, crop, tiny_embedder

from edge.errors import ImageError, ModelError
from edge.vision.colour import flatten_water
from edge.vision.embed import MAX_BATCH, Embedder
from edge.vision.preprocess import dequantize, l2_normalize, quantize, read_rgb, resize_crop


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from convert.quantize import convert

    calibration = np.stack(
        [resize_crop(crop(i, f), HEIGHT, WIDTH) for i in IDENTITIES for f in range(8)]
    )
    keras_model = tiny_embedder()
    with contextlib.redirect_stdout(io.StringIO()):
        converted = convert(keras_model, calibration)
    root = tmp_path_factory.mktemp("embed")
    (root / "f32.tflite").write_bytes(converted.float32)
    (root / "i8.tflite").write_bytes(converted.int8)
    return keras_model, root / "f32.tflite", root / "i8.tflite"


def crops(n: int = 12) -> list[np.ndarray]:
    return [crop(IDENTITIES[k % 3], k, size=(20 + k, 14 + k)) for k in range(n)]


def test_float_and_int8_give_unit_embeddings_that_agree(models):
    _, f32, i8 = models
    a = Embedder(f32, HEIGHT, WIDTH).embed(crops())
    b = Embedder(i8, HEIGHT, WIDTH).embed(crops())
    assert a.shape == b.shape == (12, 128) and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(a * b, axis=1)) > 0.95


def test_float_model_matches_keras(models):
    keras_model, f32, _ = models
    # The device cuts each crop down to its swimmer before the model sees it.
    pixels = flatten_water(np.stack([resize_crop(c, HEIGHT, WIDTH) for c in crops(4)]))
    expected = np.asarray(keras_model(pixels.astype(np.float32), training=False))
    np.testing.assert_allclose(Embedder(f32, HEIGHT, WIDTH).embed(crops(4)), expected, atol=1e-4)


def test_int8_graph_ends_before_normalisation(models):
    _, _, i8 = models
    embedder = Embedder(i8, HEIGHT, WIDTH)
    assert embedder.input_dtype == np.float32  # the first convolution stays float
    raw = embedder.raw(np.stack([resize_crop(c, HEIGHT, WIDTH) for c in crops(3)]))
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-2)


def test_batches_equal_one_by_one(models):
    _, _, i8 = models
    embedder = Embedder(i8, HEIGHT, WIDTH)
    many = crops(MAX_BATCH + 5)
    batched = embedder.embed(many)
    single = np.concatenate([embedder.embed([c]) for c in many])
    np.testing.assert_array_equal(batched, single)


def test_empty_and_bad_crops(models):
    _, f32, _ = models
    embedder = Embedder(f32, HEIGHT, WIDTH)
    assert embedder.embed([]).shape == (0, 128)
    with pytest.raises(ImageError, match="H×W×3"):
        embedder.embed([np.zeros((10, 10), np.uint8)])
    with pytest.raises(ImageError, match="uint8"):
        embedder.embed([np.zeros((10, 10, 3), np.float32)])
    with pytest.raises(ImageError, match="non-empty"):
        embedder.embed([np.zeros((0, 10, 3), np.uint8)])


def test_wrong_input_size_is_a_model_error(models):
    _, f32, _ = models
    with pytest.raises(ModelError, match=r"f32\.tflite: model input"):
        Embedder(f32, HEIGHT * 2, WIDTH)


def test_resize_is_the_training_resize():
    from train.data import resize

    image = crop("2", 3, size=(280, 180))
    np.testing.assert_array_equal(resize_crop(image, 64, 40), resize(image, 64, 40))


def test_quantize_fast_paths_equal_the_formula():
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for dtype, zero_point in ((np.uint8, 0), (np.int8, -128)):
        fast = quantize(pixels, 1.0, zero_point, dtype)
        slow = quantize(pixels.astype(np.float32), 1.0, zero_point, dtype)
        np.testing.assert_array_equal(fast, slow)
        np.testing.assert_array_equal(dequantize(fast, 1.0, zero_point), pixels)
    q = quantize(np.array([-1.0, 0.0, 0.5, 100.0]), 0.01, 3, np.int8)
    np.testing.assert_array_equal(q, [-97, 3, 53, 127])


def test_l2_normalize_keeps_zero_rows_finite():
    out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_read_rgb_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really")
    with pytest.raises(ImageError, match=r"bad\.jpg: not a decodable image"):
        read_rgb(bad)
    with pytest.raises(ImageError, match=r"missing\.jpg"):
        read_rgb(tmp_path / "missing.jpg")
