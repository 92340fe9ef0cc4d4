"""reid-enroll: new swimmers join a bundle without retraining; bad input leaves it untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest

import convert.enroll as enroll_module
from convert.bundle_writer import BundleContents, write_bundle
from convert.enroll import MIN_ENROLL_CROPS, main
from convert.quantize import convert
from edge.bundle import load_bundle
from edge.vision.classify import Classifier
from edge.vision.colour import describe, descriptor_size
from edge.vision.embed import Embedder
from edge.vision.identify import Identifier
from train.openset import calibrate
from train.svm import export_classifier, fit_classifier, save_classifier

HEIGHT, WIDTH = 32, 20
COLOURS = {"1": (220, 40, 40), "2": (240, 220, 30), "3": (30, 200, 60), "4": (250, 250, 250)}

REPO = Path(__file__).resolve().parents[1]


def _crop(identity: str, frame: int) -> np.ndarray:
    """A swimmer-ish crop: blue water, a body of the identity's colour, a little noise."""
    rng = np.random.default_rng(frame * 31 + int(identity))
    image = np.full((56, 36, 3), (56, 166, 208), np.uint8)
    y = 8 + frame % 6
    image[y : y + 36, 10:26] = COLOURS[identity]
    noise = rng.integers(-12, 13, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)


def _colour_embedder() -> keras.Model:
    """A tiny stand-in for the trained CNN that tells the test colours apart: the mean of each
    pixel's difference from the water colour, projected to 128-d. Same contract as the real
    embedder (raw 0..255 input, "embedding" then "l2_norm" layers), so it converts to int8."""
    water = np.asarray((56, 166, 208), np.float32) / 255.0
    inputs = keras.Input((HEIGHT, WIDTH, 3))
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(3, 1, name="minus_water")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(128, name="embedding")(x)
    outputs = keras.layers.UnitNormalization(name="l2_norm")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("minus_water").set_weights([np.eye(3, dtype=np.float32)[None, None], -water])
    rng = np.random.default_rng(0)
    model.get_layer("embedding").set_weights(
        [rng.normal(size=(3, 128)).astype(np.float32), np.zeros(128, np.float32)]
    )
    return model


def test_a_swimmer_enrolled_from_many_crops_keeps_its_most_varied_rows(
    bundle, tmp_path, capsys, monkeypatch
):
    """The device scores tracks against every gallery row: a swimmer's rows are capped at
    MAX_GALLERY_ROWS, the others' untouched, and the swimmer is still named."""
    monkeypatch.setattr(enroll_module, "MAX_GALLERY_ROWS", 6)
    _write_crops(tmp_path / "many", "4", range(10))
    code, err = _enroll(bundle, tmp_path / "many", tmp_path / "b2", capsys)
    assert code == 0, err
    new = load_bundle(tmp_path / "b2")
    labels = list(Classifier.load(new.classifier_path, 0.0).gallery_labels)
    assert labels.count("4") == 6 and labels.count("1") == 12
    crops = [_crop("4", f) for f in range(10)]
    assert [p.swimmer_id for p in Identifier.from_bundle(new).identify(crops)] == ["4"] * 10


def _write_crops(root: Path, identity: str, frames: range) -> None:
    folder = root / identity
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        bgr = cv2.cvtColor(_crop(identity, f), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / f"frame_{f}.jpg"), bgr)


@pytest.fixture(scope="module", params=[0.0, 0.5], ids=["embedding", "with-colour"])
def bundle(request, tmp_path_factory) -> Path:
    """A real (tiny, untrained) int8 bundle knowing swimmers 1, 2 and 3; its descriptors are
    the embedding alone or the embedding beside the colour signature (edge.vision.colour)."""
    colour_weight = request.param
    root = tmp_path_factory.mktemp("base")
    model = _colour_embedder()
    crops = [_crop(i, f) for i in ("1", "2", "3") for f in range(12)]
    labels = [i for i in ("1", "2", "3") for _ in range(12)]
    pixels = np.stack([cv2.resize(c, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA) for c in crops])
    models = convert(model, pixels)
    (root / "int8.tflite").write_bytes(models.int8)
    embedder = Embedder(root / "int8.tflite", HEIGHT, WIDTH)
    resized = embedder.pixels(crops)
    gallery = describe(embedder.embed_pixels(resized), resized, colour_weight)
    save_classifier(
        root / "c.npz", export_classifier(fit_classifier(gallery, labels), gallery, labels)
    )
    thresholds = calibrate(gallery, labels)
    contents = BundleContents(
        int8_model=models.int8,
        float_model=models.float32,
        classifier=root / "c.npz",
        height=HEIGHT,
        width=WIDTH,
        embedding_size=128,
        colour_weight=colour_weight,
        identities={i: f"Swimmer {i}" for i in ("1", "2", "3")},
        unknown_threshold=thresholds.crop,
        track_threshold=thresholds.track,
        calibration=thresholds.calibration,
        source_run="runs/test",
        metrics={"cosine": 0.99},
    )
    return write_bundle(contents, root / "bundle")


def _snapshot(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def _enroll(bundle: Path, data: Path, out: Path, capsys) -> tuple[int, str]:
    code = main([str(bundle), "--data", str(data), "--out", str(out)])
    return code, capsys.readouterr().err


def test_enroll_adds_a_swimmer_and_leaves_the_input_alone(bundle, tmp_path, capsys):
    before = _snapshot(bundle)
    _write_crops(tmp_path / "new", "4", range(10))
    code, err = _enroll(bundle, tmp_path / "new", tmp_path / "b2", capsys)
    assert code == 0, err
    assert _snapshot(bundle) == before
    new = load_bundle(tmp_path / "b2")
    assert load_bundle(tmp_path / "b2.tar.gz").identities == new.identities
    assert new.identities == {i: f"Swimmer {i}" for i in ("1", "2", "3", "4")}
    assert "enroll" in new.source_run and new.metrics["cosine"] == 0.99
    assert new.metrics["enrollment"]["identities"] == ["4"]
    clf = Classifier.load(new.classifier_path, new.unknown_threshold)
    assert clf.classes == ("1", "2", "3", "4")
    assert list(clf.gallery_labels).count("4") == 10
    assert new.colour_weight == load_bundle(bundle).colour_weight
    assert clf.gallery.shape[1] == descriptor_size(128, new.colour_weight)
    old = json.loads((bundle / "manifest.json").read_text())
    assert new.unknown_threshold <= old["unknown_threshold"]
    assert new.track_threshold <= old["track_threshold"]
    assert new.calibration["enrolled"] == ["4"]
    crops = [_crop("4", f) for f in range(10)]
    assert [p.swimmer_id for p in Identifier.from_bundle(new).identify(crops)] == ["4"] * 10
    before_enroll = Identifier.from_bundle(load_bundle(bundle)).identify(crops)
    assert [p.swimmer_id for p in before_enroll] == [None] * 10


def test_enroll_replaces_an_existing_swimmer(bundle, tmp_path, capsys):
    _write_crops(tmp_path / "again", "2", range(100, 107))
    code, err = _enroll(bundle, tmp_path / "again", tmp_path / "b2", capsys)
    assert code == 0, err
    new = load_bundle(tmp_path / "b2")
    labels = list(Classifier.load(new.classifier_path, 0.0).gallery_labels)
    assert labels.count("2") == 7 and labels.count("1") == 12
    assert sorted(new.identities) == ["1", "2", "3"]


def _assert_refused(bundle, data, out, capsys, message):
    before = _snapshot(bundle)
    code, err = _enroll(bundle, data, out, capsys)
    assert code != 0
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err
    assert _snapshot(bundle) == before
    assert not out.exists() or out == bundle


def test_identity_without_readable_crop_is_refused(bundle, tmp_path, capsys):
    _write_crops(tmp_path / "data", "4", range(10))
    (tmp_path / "data" / "5").mkdir()
    for f in range(6):
        (tmp_path / "data" / "5" / f"frame_{f}.jpg").write_bytes(b"not a jpeg")
    _assert_refused(bundle, tmp_path / "data", tmp_path / "b2", capsys, "0 readable crop(s)")


def test_single_crop_is_refused(bundle, tmp_path, capsys):
    _write_crops(tmp_path / "one", "4", range(1))
    message = f"needs at least {MIN_ENROLL_CROPS}"
    _assert_refused(bundle, tmp_path / "one", tmp_path / "b2", capsys, message)


def _copy_with_manifest(bundle: Path, copy: Path, **changes) -> Path:
    """A copy of `bundle` whose manifest has `changes` (the manifest itself is not hashed)."""
    copy.mkdir()
    for name, data in _snapshot(bundle).items():
        (copy / name).write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, **changes}))
    return copy


def test_incompatible_bundle_version_is_refused(bundle, tmp_path, capsys):
    old = _copy_with_manifest(bundle, tmp_path / "old", schema=99)
    _write_crops(tmp_path / "data", "4", range(10))
    _assert_refused(old, tmp_path / "data", tmp_path / "b2", capsys, "schema 99")


def test_classifier_of_other_descriptors_is_refused(bundle, tmp_path, capsys):
    """A manifest whose colour weight does not match how its classifier was fitted."""
    other = 0.0 if load_bundle(bundle).colour_weight else 0.5
    odd = _copy_with_manifest(bundle, tmp_path / "odd", colour_weight=other)
    _write_crops(tmp_path / "data", "4", range(10))
    _assert_refused(odd, tmp_path / "data", tmp_path / "b2", capsys, "-d descriptors")


def test_out_may_not_overwrite_the_input(bundle, tmp_path, capsys):
    _write_crops(tmp_path / "data", "4", range(10))
    _assert_refused(bundle, tmp_path / "data", bundle, capsys, "would overwrite the input")


def test_missing_data_folder_is_one_line(bundle, tmp_path, capsys):
    _assert_refused(bundle, tmp_path / "nope", tmp_path / "b2", capsys, "not a directory")


# --- names.toml: track folders named by a person (issue 14) ------------------------------------


def _tracks(root: Path) -> Path:
    """Collected crops: swimmer 4 in two tracks, a stranger's track, an unnamed one."""
    for track, identity in (("track_0001", "4"), ("track_0002", "4"), ("track_0003", "1")):
        _write_crops(root / "tmp", identity, range(6))
        (root / "tmp" / identity).rename(root / track)
    _write_crops(root / "tmp", "2", range(6))
    (root / "tmp" / "2").rename(root / "track_0004")
    (root / "tmp").rmdir()
    return root


def test_names_toml_enrols_named_tracks_and_skips_the_rest(bundle, tmp_path, capsys):
    data = _tracks(tmp_path / "collected")
    names = tmp_path / "names.toml"
    names.write_text('track_0001 = "anna"\ntrack_0002 = "anna"\ntrack_0003 = "skip"\n')
    out = tmp_path / "b2"
    code = main([str(bundle), "--data", str(data), "--out", str(out), "--names", str(names)])
    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    new = load_bundle(out)
    assert new.metrics["enrollment"]["identities"] == ["anna"]
    assert new.metrics["enrollment"]["crops"] == 12  # two tracks, one swimmer
    assert set(new.identities) == {"1", "2", "3", "anna"}  # track_0004 was named nowhere
    (line,) = [p for p in printed if p.startswith("anna:")]
    assert line.startswith("anna: 12 crops; most like ")


def test_a_swimmer_like_an_enrolled_one_is_warned_about(bundle, tmp_path, capsys):
    """Swimmer 1's crops enrolled under a new name look like 1: the report says so."""
    data = _tracks(tmp_path / "collected")
    names = tmp_path / "names.toml"
    names.write_text('track_0003 = "bob"\n')
    out = tmp_path / "b2"
    assert main([str(bundle), "--data", str(data), "--out", str(out), "--names", str(names)]) == 0
    (line,) = [p for p in capsys.readouterr().out.splitlines() if p.startswith("bob:")]
    assert "most like 1" in line and "WARNING" in line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('track_0009 = "anna"\n', "track_0009 names no folder in"),
        ('track_0001 = "anna"\ntrack_0001 = "bob"\n', "a track named twice?"),
        ("track_0001 = 7\n", 'give a swimmer\'s name or "skip"'),
        ('track_0001 = "skip"\ntrack_0002 = "skip"\n', "no folder names a swimmer to enrol"),
    ],
)
def test_names_mistakes_are_one_line_and_write_nothing(bundle, tmp_path, capsys, text, message):
    data = _tracks(tmp_path / "collected")
    names = tmp_path / "names.toml"
    names.write_text(text)
    before = _snapshot(bundle)
    out = tmp_path / "b2"
    code = main([str(bundle), "--data", str(data), "--out", str(out), "--names", str(names)])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and message in err, err
    assert _snapshot(bundle) == before and not out.exists()


def test_an_empty_track_is_one_line(bundle, tmp_path, capsys):
    data = _tracks(tmp_path / "collected")
    (data / "track_0005").mkdir()
    _assert_refused(bundle, data, tmp_path / "b2", capsys, "track_0005")


FULL_DISK = """
import resource, signal, sys
import convert.enroll as enroll_module
from convert.enroll import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
sys.exit(main(sys.argv[1:]))
"""


def test_a_full_disk_is_one_line_and_leaves_the_input_bundle(bundle, tmp_path) -> None:
    """A file-size limit makes the disk 'full' for this child only."""
    _write_crops(tmp_path / "new", "4", range(10))
    before = _snapshot(bundle)
    out = tmp_path / "b2"
    args = [str(bundle), "--data", str(tmp_path / "new"), "--out", str(out)]
    command = [sys.executable, "-c", FULL_DISK, *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "File too large" in last and f"{bundle} is untouched" in last, done.stderr
    assert "Traceback" not in done.stderr
    assert _snapshot(bundle) == before and not out.exists()
