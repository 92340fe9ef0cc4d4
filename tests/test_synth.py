"""The synthetic swimmer generator: deterministic, laid out like the real crops, and with the
properties the training code relies on (identities differ by colour, frames are time-correlated)."""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest

from train.data import list_samples, read_rgb
from train.synth import (
    BOXES_FILE,
    CROP_HEIGHT,
    CROP_WIDTH,
    generate_dataset,
    main,
    make_identities,
    render_boxed,
    render_swimmer,
)


def _images(root, identity):
    samples = [s for s in list_samples(root) if s.identity == identity]
    return [read_rgb(s.path).astype(np.float32) for s in samples]


def _colour_descriptor(rgb: np.ndarray) -> np.ndarray:
    """Hue/saturation histogram of the centre, where the swimmer is."""
    hsv = cv2.cvtColor(rgb.astype(np.uint8), cv2.COLOR_RGB2HSV)[40:240, 45:135]
    hist = cv2.calcHist([hsv], [0, 1], None, [18, 8], [0, 180, 0, 256]).ravel()
    return np.sqrt(hist / hist.sum())


def test_same_seed_gives_identical_files(tmp_path):
    a = generate_dataset(tmp_path / "a", identities=3, frames=4, seed=5)
    b = generate_dataset(tmp_path / "b", identities=3, frames=4, seed=5)
    c = generate_dataset(tmp_path / "c", identities=3, frames=4, seed=6)
    files = sorted(p.relative_to(a) for p in a.rglob("*.jpg"))
    assert len(files) == 12
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert any((a / f).read_bytes() != (c / f).read_bytes() for f in files)


def test_each_crop_has_the_box_of_the_body_drawn_in_it(tmp_path):
    """The truth box is the body (cap to feet, arms out), written beside the crops."""
    out = generate_dataset(tmp_path, identities=2, frames=3, seed=5)
    for spec in make_identities(2, seed=5):
        boxes = json.loads((out / spec.name / BOXES_FILE).read_text())
        assert sorted(boxes) == [f"frame_{n}.jpg" for n in (1, 2, 3)]
        for n in (1, 2, 3):
            _, box = render_boxed(spec, n, np.random.default_rng([5, spec.seed, n]))
            assert boxes[f"frame_{n}.jpg"] == list(box)
            x, y, w, h = box
            assert 0 <= x < x + w <= CROP_WIDTH and 0 <= y < y + h <= CROP_HEIGHT
            assert 2 * spec.shoulder < w < CROP_WIDTH and x < CROP_WIDTH / 2 < x + w
            assert y <= 48 and y + h > 0.8 * CROP_HEIGHT  # the cap's top (y 38-48) to the feet


def test_render_depends_only_on_spec_frame_and_rng():
    spec = make_identities(2, seed=0)[1]
    first = render_swimmer(spec, 7, np.random.default_rng(3))
    again = render_swimmer(spec, 7, np.random.default_rng(3))
    assert first.shape == (CROP_HEIGHT, CROP_WIDTH, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)


def test_layout_matches_the_real_crops(synthetic_data):
    assert sorted(p.name for p in synthetic_data.iterdir()) == ["1", "2", "3", "4", "5"]
    samples = list_samples(synthetic_data)
    assert len(samples) == 5 * 40
    assert [s.frame for s in samples if s.identity == "3"] == list(range(1, 41))
    assert read_rgb(samples[0].path).shape == (280, 180, 3)


def test_identities_are_told_apart_by_colour(synthetic_data):
    """Each crop's colour histogram is nearest its own swimmer's mean histogram."""
    ids = ["1", "2", "3", "4", "5"]
    desc = {i: np.stack([_colour_descriptor(im) for im in _images(synthetic_data, i)]) for i in ids}
    centroids = np.stack([desc[i].mean(0) for i in ids])
    hits = [
        np.argmin(np.linalg.norm(centroids - d, axis=1)) == k
        for k, i in enumerate(ids)
        for d in desc[i]
    ]
    assert np.mean(hits) >= 0.8
    pairs = itertools.combinations(range(len(ids)), 2)
    gaps = {(a, b): np.linalg.norm(centroids[a] - centroids[b]) for a, b in pairs}
    # The deliberately similar pair (white caps, black suits) is the closest one.
    assert min(gaps, key=gaps.get) == (0, 1)


def test_consecutive_frames_are_small_changes(synthetic_data):
    frames = _images(synthetic_data, "2")
    near = np.mean([np.abs(a - b).mean() for a, b in itertools.pairwise(frames)])
    far = np.mean([np.abs(a - b).mean() for a, b in zip(frames, frames[15:], strict=False)])
    other = np.mean(
        [np.abs(a - b).mean() for a, b in zip(frames, _images(synthetic_data, "3"), strict=False)]
    )
    assert near < 0.7 * far and near < 0.5 * other


def test_the_pose_changes_over_time(synthetic_data):
    frames = _images(synthetic_data, "1")
    assert np.abs(frames[0] - frames[10]).mean() > 3


def test_cli_writes_a_data_set(tmp_path):
    assert main([str(tmp_path / "out"), "--identities", "2", "--frames", "3"]) == 0
    assert len(list((tmp_path / "out").rglob("frame_*.jpg"))) == 6


def test_cli_rejects_bad_counts_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "out"), "--identities", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "identity" in err
