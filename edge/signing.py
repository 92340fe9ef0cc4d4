"""Ed25519 signatures on bundles: a Pi that trusts a key runs only bundles signed with it.

The manifest already holds every file's SHA-256, so signing its exact bytes signs the whole
bundle; the signature travels beside it as `manifest.sig` (base64). A bundle is checked against
its own manifest, so without a signature anyone who can write one file can rewrite the manifest
too. Keys are the PEM files OpenSSL makes (`openssl genpkey -algorithm ed25519`, `openssl pkey
-pubout`): the private key stays on the host (`reid-convert --sign`), the public key is installed
on the Pi (`install.sh --trust`), and from then on an unsigned bundle is refused like a tampered
one. Verification needs only `cryptography`, which has wheels for the Pi and a Debian package.
"""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.errors import BundleError

SIGNATURE = "manifest.sig"  # beside manifest.json, over its exact bytes


def installed_key(path: str | Path) -> Path | None:
    """The configured trusted key when it is installed; None (no signature needed) when not."""
    return Path(path) if str(path) and Path(path).exists() else None


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """The trusted key from a PEM file; anything else is a one-line `BundleError`."""
    key = _load(path, serialization.load_pem_public_key, "public")
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{path}: not an Ed25519 public key")
    return key


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The host's signing key from an unencrypted PEM file (PKCS#8, as OpenSSL writes it)."""
    key = _load(path, lambda data: serialization.load_pem_private_key(data, None), "private")
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{path}: not an Ed25519 private key")
    return key


def _load(path: str | Path, parse: Callable[[bytes], object], kind: str) -> object:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise BundleError(f"{path}: cannot read the {kind} key ({error.strerror})") from None
    try:
        return parse(data)
    except (ValueError, TypeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BundleError(f"{path}: not a PEM {kind} key ({reason})") from None


def main(argv: list[str] | None = None) -> int:
    """`python -m edge.signing KEY.pub`: one line, exit 0 when KEY is an Ed25519 public key."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m edge.signing KEY.pub\n")
        return 2
    try:
        load_public_key(args[0])
    except BundleError as error:
        sys.stderr.write(f"trusted key invalid: {error}\n")
        return 1
    sys.stdout.write(f"trusted key ok: {args[0]}\n")
    return 0


def sign(manifest: bytes, key: Ed25519PrivateKey) -> bytes:
    """The contents of `manifest.sig` for these manifest bytes."""
    return base64.b64encode(key.sign(manifest)) + b"\n"


def verify(root: Path, manifest: bytes, key: Ed25519PublicKey, key_path: str | Path) -> None:
    """Refuse (`BundleError`, one line) a bundle without a signature by `key` over `manifest`."""
    path = root / SIGNATURE
    if not path.is_file():
        raise BundleError(f"{root}: unsigned bundle, and this device runs only bundles signed "
                          f"with {key_path}")  # fmt: skip
    try:
        signature = base64.b64decode(path.read_bytes().strip(), validate=True)
        key.verify(signature, manifest)
    except (binascii.Error, ValueError, InvalidSignature):
        why = "signed with another key, or the bundle changed after signing"
        message = f"{path}: the signature does not verify with {key_path} ({why})"
        raise BundleError(message) from None


if __name__ == "__main__":
    sys.exit(main())
