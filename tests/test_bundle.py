"""Bundle writing and loading: every way a bundle can be wrong is one clear BundleError."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from tiny_bundle import HEIGHT, WIDTH, build_bundle

from convert.bundle_writer import BundleContents, archive_path, update_metrics, write_bundle
from edge.bundle import load_bundle, sha256_file
from edge.errors import BundleError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("bundle"))[1]


@pytest.fixture
def bundle(original, tmp_path):
    """A private copy each test may damage."""
    return Path(shutil.copytree(original, tmp_path / "bundle"))


def edit_manifest(bundle: Path, change) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_loads_directory_and_archive(original):
    for path in (original, archive_path(original)):
        loaded = load_bundle(path)
        assert (loaded.input_height, loaded.input_width) == (HEIGHT, WIDTH)
        assert loaded.identities == {"1": "Swimmer 1", "2": "Swimmer 2", "3": "Swimmer 3"}
        assert loaded.model_path.name == "model_int8.tflite" and loaded.model_path.is_file()
        assert loaded.classifier_path.is_file() and loaded.embedding_size == 128
    manifest = json.loads((original / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model_int8.tflite", "model_float32.tflite", "classifier.npz"}
    assert all(manifest["files"][n] == sha256_file(original / n) for n in manifest["files"])


def test_tampered_file_is_refused(bundle):
    data = bytearray((bundle / "classifier.npz").read_bytes())
    data[100] ^= 0xFF
    (bundle / "classifier.npz").write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"classifier\.npz: SHA-256 does not match"):
        load_bundle(bundle)


def test_truncated_model_is_refused_even_with_a_matching_hash(bundle):
    model = bundle / "model_int8.tflite"
    model.write_bytes(model.read_bytes()[:1000])
    with pytest.raises(BundleError, match="SHA-256"):
        load_bundle(bundle)
    edit_manifest(bundle, lambda m: m["files"].update({model.name: sha256_file(model)}))
    with pytest.raises(BundleError, match=r"model_int8\.tflite: not a loadable TFLite model"):
        load_bundle(bundle)


def test_input_shape_mismatch_is_refused(bundle):
    edit_manifest(bundle, lambda m: m["input"].update({"height": HEIGHT + 1}))
    with pytest.raises(BundleError, match="does not match manifest"):
        load_bundle(bundle)


def test_incompatible_schema_and_broken_manifest(bundle):
    # Schema 1 bundles described whole crops; this code's model and signature see the swimmer.
    edit_manifest(bundle, lambda m: m.update({"schema": 1}))
    with pytest.raises(BundleError, match=r"schema 1 is not supported .* rebuild it with reid-"):
        load_bundle(bundle)
    edit_manifest(bundle, lambda m: m.update({"schema": 2}))
    edit_manifest(bundle, lambda m: m.pop("track_threshold"))
    with pytest.raises(BundleError, match="missing key 'track_threshold'"):
        load_bundle(bundle)
    (bundle / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(bundle)
    (bundle / "manifest.json").unlink()
    with pytest.raises(BundleError, match="manifest not found"):
        load_bundle(bundle)


def test_missing_listed_file_and_escaping_names(bundle):
    (bundle / "model_float32.tflite").unlink()
    with pytest.raises(BundleError, match="listed in the manifest but missing"):
        load_bundle(bundle)
    edit_manifest(bundle, lambda m: m["files"].update({"../evil": "0" * 64}))
    with pytest.raises(BundleError, match="leaves the bundle"):
        load_bundle(bundle)


def test_missing_path_and_bad_archive(tmp_path):
    with pytest.raises(BundleError, match="bundle not found"):
        load_bundle(tmp_path / "nothing")
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"definitely not gzip")
    with pytest.raises(BundleError, match=r"bad\.tar\.gz: not a readable"):
        load_bundle(bad)


def verify(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edge.bundle", "verify", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_verify_command_exit_codes(original, bundle):
    ok = verify(original)
    assert ok.returncode == 0 and ok.stdout.startswith("bundle ok:") and ok.stdout.count("\n") == 1
    (bundle / "classifier.npz").write_bytes(b"x")
    bad = verify(bundle)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("bundle invalid:") and bad.stderr.count("\n") == 1


def contents_of(bundle: Path) -> BundleContents:
    loaded = load_bundle(bundle)
    return BundleContents(
        int8_model=loaded.model_path.read_bytes(),
        float_model=loaded.float_model_path.read_bytes(),
        classifier=loaded.classifier_path,
        height=loaded.input_height,
        width=loaded.input_width,
        embedding_size=128,
        colour_weight=0.0,
        identities=loaded.identities,
        unknown_threshold=0.25,
        track_threshold=0.5,
        calibration={"method": "test"},
        source_run="test",
    )


def test_rewrite_replaces_atomically_and_failures_leave_the_old_bundle(bundle, tmp_path):
    out = tmp_path / "out"
    write_bundle(contents_of(bundle), out)
    first = load_bundle(out)
    write_bundle(replace(contents_of(bundle), unknown_threshold=0.75), out)
    assert load_bundle(out).unknown_threshold == 0.75 and first.unknown_threshold == 0.25
    broken = replace(contents_of(bundle), classifier=tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        write_bundle(broken, out)
    assert load_bundle(out).unknown_threshold == 0.75
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "out", "out.tar.gz"]


def test_update_metrics_keeps_hashes_and_repacks(bundle):
    update_metrics(bundle, {"drop": 0.0})
    assert load_bundle(bundle).metrics == {"drop": 0.0}
    assert load_bundle(archive_path(bundle)).metrics == {"drop": 0.0}


def test_archive_members_outside_the_bundle_are_refused(tmp_path):
    import io
    import tarfile

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(BundleError, match="refusing archive member"):
        load_bundle(evil)
    assert not (tmp_path.parent / "escaped.txt").exists()
