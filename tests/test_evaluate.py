"""Evaluation figures on hand-made cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from train.evaluate import classification_report, retrieval_metrics


def test_classification_report_counts():
    true = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "b", "a"]
    report = classification_report(true, pred, ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    a, b, c = (report["per_identity"][k] for k in "abc")
    assert (a["precision"], a["recall"], a["support"]) == (pytest.approx(2 / 3), 2 / 3, 3)
    assert (b["precision"], b["recall"]) == (pytest.approx(2 / 3), 1.0)
    assert (c["precision"], c["recall"]) == (0.0, 0.0)


def _unit(angles_deg):
    rad = np.radians(angles_deg)
    return np.stack([np.cos(rad), np.sin(rad)], axis=1)


def test_retrieval_rank_and_average_precision():
    # Gallery at 0, 10, 20, 30, ... degrees; labels chosen so the ranks are known.
    gallery = _unit([0, 10, 20, 30, 40, 50, 60])
    gallery_labels = ["x", "y", "x", "y", "y", "y", "y"]
    # Query x at 0 deg: ranking x(0) y(10) x(20) ... -> hits at 1 and 3: AP = (1/1 + 2/3)/2.
    # Query y at 0 deg: same ranking, first y at rank 2: rank-1 miss, rank-5 hit;
    # y hits at ranks 2, 4, 5, 6, 7 -> AP = (1/2 + 2/4 + 3/5 + 4/6 + 5/7) / 5.
    queries = _unit([0, 0])
    metrics = retrieval_metrics(queries, ["x", "y"], gallery, gallery_labels)
    ap_y = (1 / 2 + 2 / 4 + 3 / 5 + 4 / 6 + 5 / 7) / 5
    assert metrics["rank1"] == 0.5
    assert metrics["rank5"] == 1.0
    assert metrics["mAP"] == pytest.approx(((1 + 2 / 3) / 2 + ap_y) / 2)


def test_query_identity_missing_from_gallery_scores_zero():
    metrics = retrieval_metrics(_unit([0]), ["z"], _unit([0, 5]), ["x", "y"])
    assert metrics == {"rank1": 0.0, "rank5": 0.0, "mAP": 0.0}
