"""Keras -> TFLite conversion and the reid-convert command."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections import Counter

import numpy as np
import pytest
from tiny_bundle import HEIGHT, WIDTH, tiny_embedder, write_data, write_run

from convert.build import representative_images
from convert.cli import main
from convert.quantize import convert, representative_indices
from edge.bundle import load_bundle
from edge.vision.runtime import make_interpreter


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("quantize")
    data = write_data(root / "data")
    return data, write_run(root / "run", data)


def test_representative_set_covers_every_identity_early_and_late():
    labels = ["a"] * 50 + ["b"] * 10 + ["c"] * 200
    picked = representative_indices(labels, size=60)
    counts = Counter(labels[i] for i in picked)
    assert len(picked) <= 60 and set(counts) == {"a", "b", "c"} and counts["b"] == 10
    assert {0, 49, 60, 259} <= set(picked.tolist())
    assert len(representative_indices(labels, size=3)) == 3


def test_int8_model_ends_at_the_embedding_with_raw_pixel_input(workspace, tmp_path):
    data, _ = workspace
    images = representative_images(data, HEIGHT, WIDTH)
    assert images.dtype == np.uint8 and images.shape[1:] == (HEIGHT, WIDTH, 3)
    with contextlib.redirect_stdout(io.StringIO()):
        models = convert(tiny_embedder(), images)
    (tmp_path / "i8.tflite").write_bytes(models.int8)
    interpreter = make_interpreter(tmp_path / "i8.tflite", xnnpack=False)
    given, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert given["dtype"] == np.float32 and list(out["shape"]) == [1, 128]
    dtypes = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    ops = [(op["op_name"], dtypes[op["outputs"][0]]) for op in interpreter._get_ops_details()]
    names = [name for name, _ in ops]
    # Raw pixels -> float first conv -> QUANTIZE -> int8 everything else -> DEQUANTIZE.
    assert ops[0] == ("CONV_2D", np.float32) and names[1] == "QUANTIZE"
    assert all(dtype == np.int8 for name, dtype in ops[2:-1]), ops
    assert names[-2:] == ["FULLY_CONNECTED", "DEQUANTIZE"]
    assert not {"L2_NORMALIZATION", "RSQRT", "SQUARE"} & set(names)
    assert len(models.int8) < len(models.float32)


def test_convert_command_writes_a_loadable_bundle_with_metrics(workspace, tmp_path, capsys):
    data, run = workspace
    out = tmp_path / "bundle"
    assert main([str(run), "--data", str(data), "--out", str(out)]) == 0
    assert "accuracy drop" in capsys.readouterr().out
    bundle = load_bundle(out)
    assert bundle.metrics["accuracy"]["int8"] == 1.0 and bundle.unknown_threshold == -1.0
    assert bundle.source_run == str(run.resolve())
    assert load_bundle(out.with_name("bundle.tar.gz")).metrics == bundle.metrics


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("no-run", "RUN folder not found"),
        ("partial-run", "incomplete RUN folder, missing classifier.npz"),
        ("bad-run-json", "run.json: malformed"),
        ("empty-data", "no identity folders"),
    ],
)
def test_convert_user_mistakes_are_one_line(workspace, tmp_path, capsys, damage, message):
    data, run = workspace
    copy = tmp_path / "run"
    if damage != "no-run":
        shutil.copytree(run, copy)
    if damage == "partial-run":
        (copy / "classifier.npz").unlink()
    if damage == "bad-run-json":
        (copy / "run.json").write_text(json.dumps({"input": {}}))
    if damage == "empty-data":
        data = tmp_path / "empty"
        data.mkdir()
    assert main([str(copy), "--data", str(data), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "b").exists()


def test_representative_set_on_the_real_crops(real_data):
    from train.data import list_samples, time_split

    images = representative_images(real_data, 16, 10)
    train = time_split(list_samples(real_data)).train
    picked = representative_indices([s.identity for s in train])
    assert len(images) == len(picked) <= 1000
    assert {train[i].identity for i in picked} == {s.identity for s in train}
