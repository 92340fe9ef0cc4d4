"""Writing the bundle directory and its .tar.gz, all or nothing.

Everything is written into a temporary directory beside the target and renamed into place at
the end, so a crash or a full disk never leaves a half bundle that a Pi could pick up. The
manifest records every other file's SHA-256; edge.bundle refuses a bundle that disagrees. With
a signing key, `manifest.sig` signs the manifest's exact bytes (edge/signing.py), so every
rewrite of the manifest signs again or drops the stale signature.
"""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.bundle import MANIFEST, SCHEMA_VERSION, sha256_file
from edge.signing import SIGNATURE, sign

log = logging.getLogger(__name__)

INT8_MODEL = "model_int8.tflite"
FLOAT_MODEL = "model_float32.tflite"
CLASSIFIER = "classifier.npz"
HASHED_FILES = (INT8_MODEL, FLOAT_MODEL, CLASSIFIER)


@dataclass(frozen=True)
class BundleContents:
    """What goes into a bundle, already in memory or on disk."""

    int8_model: bytes
    float_model: bytes
    classifier: Path
    height: int
    width: int
    embedding_size: int
    colour_weight: float
    identities: dict[str, str]
    unknown_threshold: float
    track_threshold: float
    calibration: dict[str, Any]
    source_run: str
    metrics: dict[str, Any] = field(default_factory=dict)


def archive_path(bundle_dir: Path) -> Path:
    """BUNDLE.tar.gz beside the BUNDLE directory."""
    return bundle_dir.with_name(bundle_dir.name + ".tar.gz")


def manifest_for(contents: BundleContents, files: dict[str, str]) -> dict[str, Any]:
    """The manifest.json object (the contract in notes/contracts.md)."""
    return {
        "schema": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source_run": contents.source_run,
        "input": {
            "height": contents.height,
            "width": contents.width,
            "channels": 3,
            "channel_order": "RGB",
            "normalization": "raw uint8 0-255",
        },
        "embedding_size": contents.embedding_size,
        "colour_weight": contents.colour_weight,
        "identities": contents.identities,
        "unknown_threshold": contents.unknown_threshold,
        "track_threshold": contents.track_threshold,
        "calibration": contents.calibration,
        "model": INT8_MODEL,
        "float_model": FLOAT_MODEL,
        "classifier": CLASSIFIER,
        "metrics": contents.metrics,
        "files": files,
    }


def write_bundle(
    contents: BundleContents, out: str | Path, sign_key: Ed25519PrivateKey | None = None
) -> Path:
    """Write `out/` and `out.tar.gz` atomically (each replaces any previous one), signed when a
    key is given; returns `out`."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the bundle from the service user
        (staging / INT8_MODEL).write_bytes(contents.int8_model)
        (staging / FLOAT_MODEL).write_bytes(contents.float_model)
        shutil.copyfile(contents.classifier, staging / CLASSIFIER)
        files = {name: sha256_file(staging / name) for name in HASHED_FILES}
        _write_manifest(staging, manifest_for(contents, files), sign_key)
        _replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_archive(out)
    log.info("bundle written: %s and %s", out, archive_path(out))
    return out


def update_metrics(
    bundle_dir: str | Path, metrics: dict[str, Any], sign_key: Ed25519PrivateKey | None = None
) -> None:
    """Record reid-check's figures in the manifest (signed again when a key is given, else
    unsigned) and re-pack the archive; the files and their hashes are unchanged."""
    update_manifest(bundle_dir, {"metrics": metrics}, sign_key=sign_key)


def update_manifest(
    bundle_dir: str | Path,
    changes: dict[str, Any],
    files: dict[str, bytes] | None = None,
    sign_key: Ed25519PrivateKey | None = None,
) -> None:
    """Add `files` (hashed into the manifest) and top-level `changes` to a written bundle, sign
    again when a key is given (else drop the signature), and re-pack the archive."""
    bundle_dir = Path(bundle_dir)
    manifest = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    for name, data in (files or {}).items():
        _replace_file(bundle_dir / name, data)
        manifest["files"][name] = sha256_file(bundle_dir / name)
    manifest.update(changes)
    _write_manifest(bundle_dir, manifest, sign_key)
    write_archive(bundle_dir)


def _write_manifest(
    folder: Path, manifest: dict[str, Any], sign_key: Ed25519PrivateKey | None
) -> None:
    """manifest.json and its signature, each by a temp file and a rename; no key, no stale
    signature left behind."""
    data = (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode("utf-8")
    signature = folder / SIGNATURE
    if sign_key is None:
        signature.unlink(missing_ok=True)
    _replace_file(folder / MANIFEST, data)
    if sign_key is not None:
        _replace_file(signature, sign(data, sign_key))


def _replace_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_archive(bundle_dir: Path) -> Path:
    """Pack `bundle_dir` as one top-level folder into BUNDLE.tar.gz, via a temp file + rename."""
    target = archive_path(bundle_dir)
    tmp = target.with_name(f".{target.name}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for path in sorted(bundle_dir.iterdir()):
            if not path.name.startswith("."):
                tar.add(path, arcname=f"{bundle_dir.name}/{path.name}")
    tmp.replace(target)
    return target


def _replace_dir(staging: Path, out: Path) -> None:
    """Rename `staging` to `out`; an existing `out` is moved aside first and removed after."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
