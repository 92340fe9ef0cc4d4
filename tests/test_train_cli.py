"""`reid-train` end to end on a tiny synthetic set, and its one-line errors."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from train.cli import main
from train.svm import CLASSIFIER_KEYS
from train.synth import generate_dataset

TINY = ["--epochs", "2", "--batches", "3", "--input-size", "32x20", "--p", "4", "--k", "4"]
TINY += ["--no-progress", "--seed", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny training run on 4 synthetic swimmers, one of them with an unreadable crop."""
    data = generate_dataset(tmp_path_factory.mktemp("crops"), identities=4, frames=24, seed=0)
    (data / "2" / "frame_0.jpg").write_bytes(b"this is not a jpeg")
    out = tmp_path_factory.mktemp("run")
    assert main(["--data", str(data), "--out", str(out), *TINY]) == 0
    return out


def test_run_folder_holds_every_contract_file(run):
    for name in ("embedder.keras", "classifier.npz", "run.json", "metrics.json"):
        assert (run / name).is_file(), name
    for name in ("confusion.png", "curves.png", "tsne.png"):
        assert (run / name).read_bytes()[:4] == b"\x89PNG", name


def test_run_json_describes_the_input_and_identities(run):
    info = json.loads((run / "run.json").read_text())
    assert info["input"] == {
        "height": 32,
        "width": 20,
        "channel_order": "RGB",
        "normalization": "raw uint8 0-255",
    }
    assert info["identities"] == ["1", "2", "3", "4"]
    assert info["embedding_size"] == 128 and info["split"] == "time" and info["seed"] == 1
    assert -1.0 <= info["unknown_threshold"] <= 1.0
    assert info["recipe"]["epochs"] == 2


def test_embedder_is_the_bare_model_with_unit_outputs(run):
    model = keras.saving.load_model(run / "embedder.keras")
    assert [layer.name for layer in model.layers[-2:]] == ["embedding", "l2_norm"]
    assert model.input_shape == (None, 32, 20, 3)
    out = model(np.random.default_rng(0).uniform(0, 255, (3, 32, 20, 3)).astype(np.float32))
    assert out.shape == (3, 128)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_classifier_npz_follows_the_contract(run):
    with np.load(run / "classifier.npz", allow_pickle=False) as arrays:
        assert set(arrays.files) == set(CLASSIFIER_KEYS)
        assert sorted(arrays["classes"].tolist()) == ["1", "2", "3", "4"]


def test_unreadable_crop_is_skipped_and_counted(run):
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["skipped"] == 1
    assert metrics["skipped_paths"][0].endswith("frame_0.jpg")
    assert metrics["n_test"] == 4 * 5
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert {"rank1", "rank5", "mAP", "per_identity", "confusion"} <= set(metrics)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_missing_data_folder_is_one_line(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "run")]) == 2
    assert _error_line(capsys).startswith("reid-train: error:")


def test_empty_root_is_one_line(tmp_path, capsys):
    (tmp_path / "crops").mkdir()
    assert main(["--data", str(tmp_path / "crops"), "--out", str(tmp_path / "run")]) == 2
    assert "no identity folders" in _error_line(capsys)


def test_empty_identity_is_one_line(tmp_path, capsys):
    data = generate_dataset(tmp_path / "crops", identities=2, frames=3, seed=0)
    (data / "9").mkdir()
    assert main(["--data", str(data), "--out", str(tmp_path / "run")]) == 2
    assert "9" in _error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_bad_input_size_is_one_line(tmp_path, capsys):
    args = ["--data", str(tmp_path), "--out", str(tmp_path / "run"), "--input-size", "big"]
    assert main(args) == 2
    assert "--input-size" in _error_line(capsys)
