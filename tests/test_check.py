"""reid-check: float32 and int8 through the same edge code, JSON out, exit 1 past --max-drop."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_bundle import build_bundle

from convert.bundle_writer import archive_path
from convert.check import accuracy, cosine_stats, main
from edge.types import Prediction
from edge.vision.classify import Classifier


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("check"))


def test_reports_every_figure_and_passes(built, tmp_path, capsys):
    data, bundle = built
    report = tmp_path / "report.md"
    assert main([str(bundle), "--data", str(data), "--report", str(report)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n_crops"] == 9  # 3 identities × the last 20 % of 16 frames
    assert metrics["accuracy"] == {"float32": 1.0, "int8": 1.0} and metrics["drop"] == 0.0
    assert 0.95 < metrics["cosine"]["p1"] <= metrics["cosine"]["mean"] <= 1.0 + 1e-6
    assert metrics["cosine"]["min"] <= metrics["cosine"]["p1"]
    assert set(metrics["latency_ms"]) == set(metrics["invoke_ms"]) == {"float32", "int8"}
    assert metrics["size_bytes"]["int8"] < metrics["size_bytes"]["float32"]
    assert metrics["passed"] is True and metrics["runtime"] == "ai_edge_litert.interpreter"
    assert "Quantization check: PASS" in report.read_text()


def test_exit_one_when_the_drop_exceeds_the_limit(built, capsys):
    data, bundle = built
    assert main([str(archive_path(bundle)), "--data", str(data), "--max-drop", "-0.01"]) == 1
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["passed"] is False and metrics["bundle"] == str(archive_path(bundle))
    assert (bundle.parent / "bundle-check.md").read_text().startswith("# Quantization check: FAIL")


def test_user_mistakes_are_one_line(built, tmp_path, capsys):
    data, bundle = built
    (tmp_path / "empty").mkdir()
    for argv, message in (
        ([str(bundle), "--data", str(tmp_path / "empty")], "no identity folders"),
        ([str(tmp_path / "nope"), "--data", str(data)], "bundle not found"),
        ([str(bundle), "--data", str(data), "--runs", "5"], "--runs must be at least"),
    ):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1 and message in captured.err


def test_cosine_stats_and_accuracy():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    b = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert cosine_stats(a, b) == {"mean": pytest.approx(2 / 3), "min": 0.0, "p1": 0.02}

    class Fixed(Classifier):
        def __init__(self):
            pass

        def predict(self, embeddings):
            return [Prediction("1", "1", 0.9), Prediction(None, "2", 0.1)]

    assert accuracy(Fixed(), a[:2], ["1", "2"]) == {"accuracy": 1.0, "identified": 0.5}
