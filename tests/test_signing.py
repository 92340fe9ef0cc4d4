"""Signed bundles: keys made by the openssl CLI, bundles signed by the real writer, refused by
load_bundle, the daemon's --check-config and install.sh exactly where a Pi that trusts a key
must refuse them, each with one line, the live bundle kept."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from install_support import installed, run_install, snapshot
from system_parts import missing

from convert.bundle_writer import BundleContents, archive_path, update_metrics, write_bundle
from edge.bundle import MANIFEST, load_bundle, sha256_file
from edge.errors import BundleError
from edge.signing import SIGNATURE, load_private_key


def openssl_keys(folder: Path, name: str) -> tuple[Path, Path]:
    """An Ed25519 key pair as OpenSSL writes it: what a site would make and keep."""
    if shutil.which("openssl") is None:
        missing("the openssl CLI is not installed")
    private, public = folder / f"{name}.pem", folder / f"{name}.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", private], check=True)
    subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public], check=True)
    return private, public


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: openssl_keys(folder, name) for name in ("site", "other")}


def copy_bundle(archive: Path, out: Path) -> Path:
    """The bundle directory of an archive written by tests/test_systemd.py's fixture."""
    return Path(shutil.copytree(archive.with_name(archive.name.removesuffix(".tar.gz")), out))


def signed(bundle: Path, private: Path) -> Path:
    update_metrics(bundle, {"note": "signed for the test"}, load_private_key(private))
    return bundle


def test_a_signed_bundle_loads_for_its_key_only(bundles, keys, tmp_path) -> None:
    bundle = signed(copy_bundle(bundles["a"], tmp_path / "b"), keys["site"][0])
    assert load_bundle(bundle, keys["site"][1]).metrics == {"note": "signed for the test"}
    assert load_bundle(archive_path(bundle), keys["site"][1]).root.name == "b"
    assert load_bundle(bundle).root == bundle  # a Pi that trusts no key reads it as before
    with pytest.raises(BundleError, match=r"manifest\.sig: the signature does not verify with"):
        load_bundle(bundle, keys["other"][1])


def test_an_unsigned_bundle_is_refused_once_a_key_is_trusted(bundles, keys, tmp_path) -> None:
    bundle = copy_bundle(bundles["a"], tmp_path / "b")
    with pytest.raises(BundleError, match="unsigned bundle, and this device runs only bundles"):
        load_bundle(bundle, keys["site"][1])


def test_a_tampered_file_with_a_rewritten_manifest_is_refused(bundles, keys, tmp_path) -> None:
    """What an attacker who can write the bundle does: change a file, fix its hash."""
    bundle = signed(copy_bundle(bundles["a"], tmp_path / "b"), keys["site"][0])
    model = bundle / "model_int8.tflite"
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"]["model_int8.tflite"] = sha256_file(model)
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    load_bundle(bundle)  # consistent with its own manifest: only the signature can tell
    with pytest.raises(BundleError, match="the bundle changed after signing"):
        load_bundle(bundle, keys["site"][1])


def test_rewriting_the_manifest_without_the_key_drops_the_signature(bundles, keys, tmp_path):
    bundle = signed(copy_bundle(bundles["a"], tmp_path / "b"), keys["site"][0])
    update_metrics(bundle, {"rechecked": True})
    assert not (bundle / SIGNATURE).exists()


@pytest.mark.parametrize("which", ["not a key", "RSA key"])
def test_keys_that_are_not_ed25519_are_one_line_errors(which, tmp_path) -> None:
    path = tmp_path / "key.pub"
    if which == "RSA key":
        private = tmp_path / "rsa.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "rsa", "-pkeyopt",
                        "rsa_keygen_bits:1024", "-out", private], check=True)  # fmt: skip
        subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", path], check=True)
        message = "not an Ed25519 public key"
    else:
        path.write_text("ssh-ed25519 AAAAC3Nza... me@laptop\n")
        message = "not a PEM public key"
    with pytest.raises(BundleError, match=message) as caught:
        load_bundle(tmp_path, path)
    assert "\n" not in str(caught.value)


def test_sign_writes_a_signed_bundle(tmp_path, keys) -> None:
    classifier = tmp_path / "c.npz"
    classifier.write_bytes(b"x")
    contents = BundleContents(b"i", b"f", classifier, 1, 1, 1, 0.0, {}, 0.5, 0.5, {}, "r")
    out = write_bundle(contents, tmp_path / "b", load_private_key(keys["site"][0]))
    assert (out / SIGNATURE).is_file()
    with pytest.raises(BundleError, match=r"model_int8\.tflite"):  # signature fine, model not
        load_bundle(out, keys["site"][1])


# --- install.sh --trust ------------------------------------------------------------------------


def test_install_trusts_a_key_and_refuses_what_it_did_not_sign(python_env, bundles, keys, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    installed(root, python_env, "--bundle", str(bundles["a"]))  # before any key: unsigned is fine
    good = archive_path(signed(copy_bundle(bundles["b"], tmp_path / "good"), keys["site"][0]))
    installed(root, python_env, "--trust", str(keys["site"][1]), "--bundle", str(good))
    assert (root / "etc/reid-edge/bundle-key.pub").read_bytes() == keys["site"][1].read_bytes()
    assert (root / "etc/reid-edge/bundle" / SIGNATURE).is_file()

    before = snapshot(root)
    foreign = archive_path(signed(copy_bundle(bundles["a"], tmp_path / "f"), keys["other"][0]))
    for bad, why in ((bundles["a"], "unsigned bundle"), (foreign, "does not verify")):
        result = run_install(root, python_env, "--bundle", str(bad))
        assert result.returncode != 0
        (line,) = result.stderr.strip().splitlines()
        assert why in line and "/etc/reid-edge/bundle is unchanged" in line
        assert snapshot(root) == before
    # the previous bundle is unsigned: a rollback to it is refused too
    result = run_install(root, python_env, "--rollback")
    assert result.returncode != 0 and "unsigned bundle" in result.stderr
    assert snapshot(root) == before


def test_install_refuses_a_key_that_is_not_one(python_env, tmp_path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    bogus = tmp_path / "key.pub"
    bogus.write_text("not a key\n")
    result = run_install(root, python_env, "--trust", str(bogus))
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("install.sh: error: trusted key invalid:") and "not a PEM" in line
    assert not (root / "etc/reid-edge/bundle-key.pub").exists()
