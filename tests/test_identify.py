"""edge.vision.identify: the Identifier and the reid-identify command's one-line-per-image
contract."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import pytest
from tiny_bundle import IDENTITIES, build_bundle, crop

from edge.bundle import load_bundle
from edge.vision.identify import Identifier, main


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("identify"))[1]


@pytest.fixture
def images(tmp_path):
    paths = []
    for identity in IDENTITIES:
        path = tmp_path / f"swimmer{identity}.png"
        cv2.imwrite(str(path), cv2.cvtColor(crop(identity, 99, size=(70, 45)), cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def test_identifier_names_each_swimmer(bundle):
    identifier = Identifier.from_bundle(load_bundle(bundle))
    predictions = identifier.identify([crop(i, 50, size=(40, 30)) for i in IDENTITIES])
    assert [p.swimmer_id for p in predictions] == list(IDENTITIES)
    assert identifier.identify([]) == []


def test_the_bundle_threshold_decides_unknown(bundle):
    loaded = load_bundle(bundle)
    identifier = Identifier.from_bundle(loaded)
    assert identifier.classifier.unknown_threshold == loaded.unknown_threshold
    identifier = Identifier(
        identifier.embedder, replace(identifier.classifier, unknown_threshold=1.01)
    )
    predictions = identifier.identify([crop("2", 7)])
    assert predictions[0].swimmer_id is None and predictions[0].candidate == "2"


def test_tracks_are_named_from_their_means_now_not_from_remembered_ones(bundle):
    """Scores of unchanged means are remembered between frames; a mean that moved (a track
    whose swimmer was swapped) is scored again, and answered as its new swimmer."""
    identifier = Identifier.from_bundle(load_bundle(bundle))
    means = identifier.describe([crop(i, 50, size=(40, 30)) for i in IDENTITIES])
    first = identifier.name_tracks(means, [None] * len(means))
    assert [n.swimmer_id for n in first] == list(IDENTITIES)
    swapped = means[[1, 0, *range(2, len(means))]]
    again = identifier.name_tracks(swapped, [None] * len(means))
    assert [n.swimmer_id for n in again] == [IDENTITIES[1], IDENTITIES[0], *IDENTITIES[2:]]
    assert [n.score for n in again[2:]] == [n.score for n in first[2:]]


def test_json_lines(bundle, images, capsys):
    assert main([str(bundle), *map(str, images), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["path"] for line in lines] == [str(p) for p in images]
    assert [line["swimmer_id"] for line in lines] == list(IDENTITIES)
    assert all(set(line) == {"path", "swimmer_id", "score"} for line in lines)
    assert all(isinstance(line["score"], float) for line in lines)


def test_corrupt_image_gets_an_error_line_and_the_rest_are_answered(bundle, images, capsys):
    corrupt = images[0].with_name("corrupt.jpg")
    corrupt.write_bytes(b"\xff\xd8\xff garbage")
    paths = [str(images[0]), str(corrupt), str(images[2])]
    assert main([str(bundle), *paths, "--json"]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["path"] for line in lines] == paths
    assert "not a decodable image" in lines[1]["error"]
    assert lines[0]["swimmer_id"] == "1" and lines[2]["swimmer_id"] == "3"
    assert "1 of 3 images failed" in captured.err


def test_text_lines(bundle, images, capsys):
    assert main([str(bundle), str(images[1])]) == 0
    path, who, score = capsys.readouterr().out.strip().split("\t")
    assert (path, who) == (str(images[1]), "2") and -1.0 <= float(score) <= 1.0


def test_bad_bundle_is_one_line(tmp_path, images, capsys):
    assert main([str(tmp_path / "missing"), str(images[0])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bundle not found" in err
