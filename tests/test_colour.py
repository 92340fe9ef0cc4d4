"""Descriptors: the device cuts crops down to the swimmer and describes them exactly as the host
does, the signature sees the swimmer's colours only, and the weight means what it says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tiny_bundle import build_bundle

from edge.bundle import load_bundle
from edge.errors import BundleError
from edge.vision import colour
from edge.vision.identify import Identifier
from edge.vision.identify import main as identify_main
from train import descriptor


def _crops(n: int, seed: int = 0) -> np.ndarray:
    """Water-blue crops with a randomly coloured block (a swimmer, roughly)."""
    rng = np.random.default_rng(seed)
    images = np.clip(rng.normal((56, 166, 208), 20, (n, 32, 20, 3)), 0, 255).astype(np.uint8)
    for image in images:
        y, x = rng.integers(0, 16), rng.integers(0, 10)
        image[y : y + 12, x : x + 8] = rng.integers(0, 256, 3)
    return images


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_device_and_host_compute_the_same_descriptor():
    images = _crops(20)
    embeddings = _unit(np.random.default_rng(1).normal(size=(20, 128))).astype(np.float32)
    assert colour.HSV_BINS == descriptor.HIST_BINS
    assert (colour.HUE_TOL, colour.SV_TOL, colour.SIDE_MARGIN) == (
        descriptor.HUE_TOL,
        descriptor.SV_TOL,
        descriptor.SIDE_MARGIN,
    )
    np.testing.assert_array_equal(colour.flatten_water(images), descriptor.flatten_water(images))
    np.testing.assert_array_equal(
        colour.colour_signature(images), descriptor.swimmer_signature(images)
    )
    for w in (0.0, 0.3, 0.75):
        np.testing.assert_array_equal(
            colour.describe(embeddings, images, w), descriptor.describe(embeddings, images, w)
        )


@pytest.mark.parametrize("seed", range(6))
def test_the_device_finds_the_hosts_swimmer_pixels_in_any_colours(seed):
    """The device's mask is OpenCV arithmetic, the host's numpy: the same pixels, also where
    the hue circle wraps (red water at hue 2: a pixel at 176 is 6 away, not 174) and for odd
    sizes."""
    rng = np.random.default_rng(seed)
    water = (2, 150, 150) if seed % 2 else tuple(rng.integers(0, 180, 3))
    hsv = rng.normal(water, (8, 60, 60), (33 + seed, 21, 3))
    hsv[..., 0] %= 180  # OpenCV's hue is 0..179, a circle
    hsv = np.clip(hsv, 0, 255).astype(np.uint8)
    mask = colour.swimmer_mask(hsv)
    assert mask.dtype == np.uint8 and 0 < mask.sum() < mask.size
    np.testing.assert_array_equal(mask, descriptor.swimmer_mask(hsv))


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 128 * 80])
def test_channel_medians_are_numpys_medians(n):
    pixels = np.random.default_rng(n).integers(0, 256, (n, 3)).astype(np.uint8)
    expected = np.median(pixels, axis=0)
    np.testing.assert_array_equal(colour.channel_medians(pixels), expected)
    np.testing.assert_array_equal(descriptor.channel_medians(pixels), expected)


@pytest.mark.parametrize("share", [0.0, 0.01, 0.5, 1.0])
def test_channel_medians_of_a_masked_image_are_numpys_of_its_pixels_under_the_mask(share):
    """The water detector's median: an image's pixels where a mask (0/255) is set, NaN when
    none; a strided view (every 3rd pixel each way) as well as a whole image."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (61, 47, 3)).astype(np.uint8)
    mask = np.where(rng.random((61, 47)) < share, 255, 0).astype(np.uint8)
    for pixels, where in ((image, mask), (image[::3, ::3], mask[::3, ::3])):
        chosen = pixels[where > 0]
        expected = np.median(chosen, axis=0) if len(chosen) else np.full(3, np.nan)
        np.testing.assert_array_equal(colour.channel_medians(pixels, where), expected)


def test_descriptor_cosine_is_the_weighted_sum_of_both_cosines():
    images = _crops(12, seed=2)
    e = _unit(np.random.default_rng(3).normal(size=(12, 128))).astype(np.float32)
    c = colour.colour_signature(images)
    w = 0.75
    d = colour.describe(e, images, w)
    assert d.shape == (12, colour.descriptor_size(128, w))
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(d @ d.T, (1 - w) * (e @ e.T) + w * (c @ c.T), atol=1e-5)


def test_weight_zero_is_the_embedding_alone():
    images = _crops(3)
    e = _unit(np.random.default_rng(4).normal(size=(3, 128))).astype(np.float32)
    np.testing.assert_array_equal(colour.describe(e, images, 0.0), e)
    assert colour.descriptor_size(128, 0.0) == 128


def test_signature_tells_colours_apart_and_ignores_position():
    water = np.full((32, 20, 3), (56, 166, 208), np.uint8)
    red_top, red_bottom, yellow = water.copy(), water.copy(), water.copy()
    red_top[2:10, 5:15] = (200, 30, 30)
    red_bottom[20:28, 5:15] = (200, 30, 30)
    yellow[2:10, 5:15] = (230, 210, 40)
    sig = colour.colour_signature(np.stack([red_top, red_bottom, yellow]))
    assert sig[0] @ sig[1] == pytest.approx(1.0)
    assert sig[0] @ sig[2] < 0.05  # nothing in common: the water is not counted


def _swimmer_in(water_rgb, rope_rgb=None) -> np.ndarray:
    """A red-capped, dark-suited swimmer in water of the given colour, a rope at one side."""
    crop = np.full((40, 30, 3), water_rgb, np.uint8)
    crop[4:10, 12:18] = (200, 30, 30)
    crop[10:30, 11:19] = (25, 25, 30)
    if rope_rgb is not None:
        crop[:, 0:3] = rope_rgb
    return crop


def test_the_water_light_and_the_rope_do_not_change_what_is_seen():
    """Later in a session the water's tint and the rope's place drift; the swimmer does not."""
    early = _swimmer_in((56, 166, 208))
    later = _swimmer_in((70, 190, 200), rope_rgb=(230, 210, 40))
    sig = colour.colour_signature(np.stack([early, later]))
    assert sig[0] @ sig[1] == pytest.approx(1.0)
    flat = colour.flatten_water(np.stack([early, later]))
    # The swimmer's pixels are kept as they are; everything else is the crop's water colour.
    np.testing.assert_array_equal(flat[:, 4:30, 11:19], np.stack([early, later])[:, 4:30, 11:19])
    assert len(np.unique(flat[1][:, :3].reshape(-1, 3), axis=0)) == 1  # the rope is gone
    np.testing.assert_array_equal(flat[1][0, 0], (70, 190, 200))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    return build_bundle(tmp_path_factory.mktemp("colour"))


def _with_weight(bundle_dir: Path, weight) -> None:
    manifest_path = bundle_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["colour_weight"] = weight
    manifest_path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("weight", [1.0, -0.1, "0.5", True, None])
def test_bundle_refuses_a_colour_weight_outside_0_1(tiny, tmp_path, weight):
    copy = shutil.copytree(tiny[1], tmp_path / "b")
    _with_weight(copy, weight)
    with pytest.raises(BundleError, match="colour_weight must be a number in"):
        load_bundle(copy)


def test_classifier_fitted_on_other_descriptors_is_refused(tiny, tmp_path, capsys):
    """A bundle whose manifest weight does not match its classifier's descriptors."""
    copy = shutil.copytree(tiny[1], tmp_path / "b")
    _with_weight(copy, 0.5)
    bundle = load_bundle(copy)
    assert bundle.colour_weight == 0.5
    with pytest.raises(BundleError, match="expects 128-d descriptors"):
        Identifier.from_bundle(bundle)
    crop = next(p for p in tiny[0].rglob("*") if p.is_file())
    assert identify_main([str(copy), str(crop)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "descriptors" in err and "Traceback" not in err
