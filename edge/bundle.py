"""Loading and verifying the bundle, the one artifact that travels from the host to the Pi.

A bundle is a directory (or a .tar.gz of one) with manifest.json, the int8 and float32 models and
the classifier arrays. Nothing in it is trusted until the schema version, every file's SHA-256
and the model's input shape agree with the manifest; each refusal is a `BundleError` that names
the file and the reason, because the person reading it is installing a Pi, not debugging code.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge import signing
from edge.errors import BundleError, ReidError
from edge.signing import load_public_key
from edge.vision.runtime import make_interpreter

# 2: the colour signature counts the swimmer's pixels only, and a track threshold travels
# beside the crop threshold, with how both were calibrated (edge/vision/colour.py,
# edge/tracking/identity.py).
SCHEMA_VERSION = 2
MANIFEST = "manifest.json"
_REQUIRED = ("schema", "input", "embedding_size", "identities", "unknown_threshold", "model")
_REQUIRED += ("track_threshold", "calibration", "float_model", "classifier", "files")
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: where it lies and what its manifest says."""

    root: Path
    schema: int
    created: str
    source_run: str
    input_height: int
    input_width: int
    input_channels: int
    channel_order: str
    normalization: str
    embedding_size: int
    identities: dict[str, str]
    unknown_threshold: float  # a single crop below it is unknown (reid-identify)
    track_threshold: float  # a track's mean descriptor below it is unknown (the daemon)
    calibration: dict[str, Any]  # how both thresholds were set: frames, quantile, counts
    colour_weight: float  # edge.vision.colour: the signature's share of the descriptor (0: none)
    model_path: Path
    float_model_path: Path
    classifier_path: Path
    files: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, Any] = field(default_factory=dict)  # the on-device check (edge/probes.py)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (bundles are small, Pis are too)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_bundle(path: str | Path, trusted_key: str | Path | None = None) -> Bundle:
    """The verified bundle at `path` (a directory or a .tar.gz), or a `BundleError`.

    With `trusted_key` (a PEM Ed25519 public key) the manifest must carry that key's signature
    before anything else in the bundle is read (edge/signing.py)."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"{path}: bundle not found")
    root = _unpack(path) if path.is_file() else path
    if trusted_key is not None:
        key = load_public_key(trusted_key)
        signing.verify(root, _manifest_bytes(root), key, trusted_key)
    manifest = _read_manifest(root)
    _verify_files(root, manifest["files"])
    bundle = _build(root, manifest)
    _verify_model_input(bundle)
    return bundle


def _unpack(archive: Path) -> Path:
    """Extract a .tar.gz into a private temp dir; the manifest may sit at its top or one down."""
    target = Path(tempfile.mkdtemp(prefix="reid-bundle-"))
    # Models and arrays are read into memory (or mmapped) at load, so the copy can go at exit.
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            _safe_extract(tar, target)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BundleError(f"{archive}: not a readable .tar.gz bundle ({error})") from error
    if (target / MANIFEST).is_file():
        return target
    tops = [p for p in target.iterdir() if p.is_dir()]
    if len(tops) == 1 and (tops[0] / MANIFEST).is_file():
        return tops[0]
    raise BundleError(f"{archive}: archive holds no {MANIFEST}")


def _safe_extract(tar: tarfile.TarFile, target: Path) -> None:
    """Extract regular files and folders only, never outside `target`. Python >= 3.11.4 has the
    "data" filter for this; Pi OS Bookworm ships 3.11.2, so the same rules are checked here."""
    for member in tar.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"refusing archive member {member.name!r}")
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
    else:  # pragma: no cover - old Python; every member was checked above
        tar.extractall(target)


def _manifest_bytes(root: Path) -> bytes:
    path = root / MANIFEST
    if not path.is_file():
        raise BundleError(f"{path}: manifest not found ({root} is not a bundle)")
    return path.read_bytes()


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    try:
        manifest = json.loads(_manifest_bytes(root).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: manifest must be a JSON object")
    if manifest.get("schema") != SCHEMA_VERSION:
        raise BundleError(
            f"{path}: schema {manifest.get('schema')!r} is not supported "
            f"(this code reads schema {SCHEMA_VERSION}; rebuild it with reid-convert)"
        )
    missing = [key for key in _REQUIRED if key not in manifest]
    if missing:
        raise BundleError(f"{path}: missing key {missing[0]!r}")
    return manifest


def _verify_files(root: Path, files: dict[str, str]) -> None:
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{root / MANIFEST}: 'files' must map file names to SHA-256 hashes")
    for name in files:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BundleError(f"{root / MANIFEST}: file name {name!r} leaves the bundle")
    for name, expected in files.items():
        path = root / name
        if not path.is_file():
            raise BundleError(f"{path}: listed in the manifest but missing")
        if sha256_file(path) != expected:
            raise BundleError(f"{path}: SHA-256 does not match the manifest (tampered or corrupt)")


def _build(root: Path, manifest: dict[str, Any]) -> Bundle:
    where = root / MANIFEST
    for key in ("model", "float_model", "classifier"):
        if manifest[key] not in manifest["files"]:
            raise BundleError(f"{where}: {key} {manifest[key]!r} is not listed in 'files'")
    spec = manifest["input"]
    try:
        return Bundle(
            root=root,
            schema=manifest["schema"],
            created=str(manifest.get("created", "")),
            source_run=str(manifest.get("source_run", "")),
            input_height=int(spec["height"]),
            input_width=int(spec["width"]),
            input_channels=int(spec.get("channels", 3)),
            channel_order=str(spec.get("channel_order", "RGB")),
            normalization=str(spec.get("normalization", "raw uint8 0-255")),
            embedding_size=int(manifest["embedding_size"]),
            identities={str(k): str(v) for k, v in dict(manifest["identities"]).items()},
            unknown_threshold=float(manifest["unknown_threshold"]),
            track_threshold=float(manifest["track_threshold"]),
            calibration=dict(manifest["calibration"]),
            colour_weight=_colour_weight(where, manifest.get("colour_weight", 0.0)),
            model_path=root / manifest["model"],
            float_model_path=root / manifest["float_model"],
            classifier_path=root / manifest["classifier"],
            files=dict(manifest["files"]),
            metrics=dict(manifest.get("metrics") or {}),
            probes=_probes(where, manifest),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{where}: malformed field ({error})") from error


def _probes(where: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The probe set's entry: optional (a bundle without one skips the on-device check), but
    when present its file is hashed like the others and its limits are numbers."""
    spec = manifest.get("probes")
    if spec is None:
        return {}
    if not isinstance(spec, dict) or spec.get("file") not in manifest["files"]:
        raise BundleError(f"{where}: 'probes' must name a file listed in 'files'")
    for key in ("min_cosine", "max_score_diff"):
        if isinstance(spec.get(key), bool) or not isinstance(spec.get(key), int | float):
            raise BundleError(f"{where}: probes.{key} must be a number")
    return dict(spec)


def _colour_weight(where: Path, value: Any) -> float:
    """0 <= w < 1: at 1 the int8 model would be shipped only to be ignored."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise BundleError(f"{where}: colour_weight must be a number in [0, 1), got {value!r}")
    return float(value)


def _verify_model_input(bundle: Bundle) -> None:
    """Both models must take the manifest's H×W×C input and give embedding_size outputs."""
    expected = (bundle.input_height, bundle.input_width, bundle.input_channels)
    for model in (bundle.model_path, bundle.float_model_path):
        try:
            interpreter = make_interpreter(model, xnnpack=False)
        except ReidError as error:
            raise BundleError(str(error)) from error
        shape = tuple(int(d) for d in interpreter.get_input_details()[0]["shape"][1:])
        if shape != expected:
            raise BundleError(f"{model}: model input {shape} does not match manifest {expected}")
        out = tuple(int(d) for d in interpreter.get_output_details()[0]["shape"][1:])
        if out != (bundle.embedding_size,):
            raise BundleError(
                f"{model}: model output {out} does not match embedding_size {bundle.embedding_size}"
            )


def main(argv: list[str] | None = None) -> int:
    """`python -m edge.bundle verify PATH [--trusted-key KEY]`: one line, exit 0 when the bundle
    is sound (signed with KEY's private key, when given) and this device reproduces its probes
    (edge/probes.py), else 1. install.sh runs it before swapping a bundle in."""
    from edge.probes import require_agreement
    from edge.vision.identify import Identifier  # both import this module: the CLI alone needs them

    parser = argparse.ArgumentParser(prog="python -m edge.bundle")
    parser.add_argument("action", choices=["verify"])
    parser.add_argument("path")
    parser.add_argument("--trusted-key", help="refuse a bundle not signed for this public key")
    args = parser.parse_args(argv)
    try:
        bundle = load_bundle(args.path, args.trusted_key)
        report = require_agreement(bundle, Identifier.from_bundle(bundle))
    except ReidError as error:
        sys.stderr.write(f"bundle invalid: {error}\n")
        return 1
    probes = report.summary() if report else "no probe set, not checked on this device"
    sys.stdout.write(
        f"bundle ok: {args.path} ({len(bundle.identities)} identities, "
        f"input {bundle.input_height}x{bundle.input_width}, schema {bundle.schema}; {probes})\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
