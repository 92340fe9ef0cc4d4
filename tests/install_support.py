"""Fixtures and helpers for tests that run systemd/install.sh into a staging root: an
interpreter that already has the package, two sound bundle archives written by the real writer
with a tiny model, and a snapshot of a tree to prove a refused step changed nothing. Registered
as a pytest plugin in conftest.py."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INSTALL = REPO / "systemd" / "install.sh"


@pytest.fixture(scope="module")
def python_env(tmp_path_factory) -> Path:
    """A bin/ with `python` (this interpreter, seeing the repo) and `reid-edge` beside it: what
    `install.sh --python` expects of an environment that already has the package."""
    bindir = tmp_path_factory.mktemp("env") / "bin"
    bindir.mkdir()
    scripts = {
        "python": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n',
        "reid-edge": '#!/bin/sh\nexec "$(dirname "$0")/python" -m edge.daemon "$@"\n',
    }
    for name, text in scripts.items():
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    return bindir / "python"


def run_install(root: Path, python: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = ["bash", str(INSTALL), "--root", str(root), "--python", str(python), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)


def installed(root: Path, python: Path, *args: str) -> subprocess.CompletedProcess:
    result = run_install(root, python, *args)
    assert result.returncode == 0, result.stderr
    return result


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under `root`: type, mode, mtime and content hash (or link target)."""
    tree = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        key = str(path.relative_to(root))
        if stat.S_ISLNK(info.st_mode):
            tree[key] = ("link", os.readlink(path), info.st_mtime_ns)
        elif stat.S_ISDIR(info.st_mode):
            tree[key] = ("dir", stat.S_IMODE(info.st_mode), info.st_mtime_ns)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            tree[key] = ("file", stat.S_IMODE(info.st_mode), info.st_mtime_ns, digest)
    return tree


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- Bundles -----------------------------------------------------------------------------------

HEIGHT, WIDTH = 4, 2


def tiny_model() -> bytes:
    """A valid .tflite written directly with LiteRT's flatbuffer schema (no TensorFlow): one
    FULLY_CONNECTED op from a (1, H, W, 3) float image to a (1, 128) "embedding"."""
    flatbuffers = pytest.importorskip("flatbuffers")
    np = pytest.importorskip("numpy")
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    size = HEIGHT * WIDTH * 3

    def tensor(name: str, shape: list[int], buffer: int):
        spec = schema.TensorT()
        spec.name, spec.shape, spec.buffer = name, shape, buffer
        spec.type = schema.TensorType.FLOAT32
        return spec

    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.FULLY_CONNECTED
    code.version = 1
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, -1], [2]
    op.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    op.builtinOptions = schema.FullyConnectedOptionsT()
    graph = schema.SubGraphT()
    graph.tensors = [
        tensor("image", [1, HEIGHT, WIDTH, 3], 0),
        tensor("weights", [128, size], 1),
        tensor("embedding", [1, 128], 0),
    ]
    graph.inputs, graph.outputs, graph.operators = [0], [2], [op]
    weights = schema.BufferT()
    weights.data = np.zeros(128 * size * 4, np.uint8)
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [graph]
    model.buffers = [schema.BufferT(), weights]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """Two sound bundle archives ("a", "b") that differ, written by the real bundle writer; the
    model is untrained and there is no probe set (verify checks hashes, shapes and that the
    classifier loads, not accuracy)."""
    pytest.importorskip("edge.bundle")
    writer = pytest.importorskip("convert.bundle_writer")
    svm = pytest.importorskip("train.svm")
    np = pytest.importorskip("numpy")
    flatbuffer = tiny_model()
    root = tmp_path_factory.mktemp("bundles")
    classifier = root / "classifier.npz"
    gallery = np.random.default_rng(0).normal(size=(8, 128))
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    labels = ["1", "2"] * 4
    arrays = svm.export_classifier(svm.fit_classifier(gallery, labels), gallery, labels)
    svm.save_classifier(classifier, arrays)
    made = {}
    for name, threshold in (("a", 0.5), ("b", 0.7)):
        contents = writer.BundleContents(
            int8_model=flatbuffer,
            float_model=flatbuffer,
            classifier=classifier,
            height=HEIGHT,
            width=WIDTH,
            embedding_size=128,
            colour_weight=0.0,
            identities={"1": "Swimmer 1", "2": "Swimmer 2"},
            unknown_threshold=threshold,
            track_threshold=threshold,
            calibration={"method": "test"},
            source_run=f"runs/{name}",
        )
        made[name] = writer.archive_path(writer.write_bundle(contents, root / name))
    return made
