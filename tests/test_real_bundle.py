"""The session's real bundle (trained by reid-train, quantized by reid-convert, pipeline_support):
the quantization check's figures that reid-convert recorded in its manifest are read and held
to limits, and reid-check on the same bundle reproduces them. Unlike tests/test_check.py's tiny
model on flat colours, a bad int8 model here would lower accuracy and cosine."""

from __future__ import annotations

import json

import pytest
from pipeline_support import Pool

from convert.check import DEFAULT_MAX_DROP, main

pytestmark = pytest.mark.slow

MIN_COSINE_MEAN = 0.98  # int8 vs float32 embeddings of the same held-out crops
MIN_COSINE_P1 = 0.90
MIN_ACCURACY = 0.90  # closed-set, latest frames, after the tests' short training
MAX_SIZE_RATIO = 0.35  # int8 file against float32: weights in 8 bits, not 32


def recorded(pool: Pool) -> dict:
    return json.loads((pool.converted / "manifest.json").read_text())["metrics"]


def test_the_manifest_records_a_quantization_that_kept_accuracy(pool: Pool) -> None:
    metrics = recorded(pool)
    assert metrics["n_crops"] >= 50, "the check ran on the held-out latest frames"
    assert metrics["accuracy"]["float32"] >= MIN_ACCURACY
    assert metrics["drop"] <= DEFAULT_MAX_DROP, metrics
    assert metrics["drop"] == pytest.approx(
        metrics["accuracy"]["float32"] - metrics["accuracy"]["int8"], abs=1e-6
    )
    assert metrics["cosine"]["mean"] >= MIN_COSINE_MEAN, metrics["cosine"]
    assert metrics["cosine"]["p1"] >= MIN_COSINE_P1, metrics["cosine"]
    assert metrics["size_bytes"]["int8"] <= MAX_SIZE_RATIO * metrics["size_bytes"]["float32"]


def test_reid_check_reproduces_the_recorded_figures(pool: Pool, capsys) -> None:
    assert main([str(pool.converted), "--data", str(pool.data)]) == 0
    fresh, before = json.loads(capsys.readouterr().out), recorded(pool)
    assert fresh["n_crops"] == before["n_crops"]
    assert fresh["accuracy"] == before["accuracy"]
    assert fresh["identified"] == before["identified"]
    assert fresh["cosine"] == pytest.approx(before["cosine"], abs=1e-5)
    assert fresh["passed"] is True
