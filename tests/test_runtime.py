"""edge.vision.runtime: the interpreter is chosen in the documented order and bad models fail
clearly."""

from __future__ import annotations

import contextlib
import io
import logging
import types

import pytest
from tiny_bundle import tiny_embedder

import edge.vision.runtime as runtime
from edge.errors import ModelError


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    from convert.quantize import cut_at_embedding, to_float32

    with contextlib.redirect_stdout(io.StringIO()):
        content = to_float32(cut_at_embedding(tiny_embedder()))
    path = tmp_path_factory.mktemp("runtime") / "model.tflite"
    path.write_bytes(content)
    return path


@pytest.fixture
def fresh_choice(monkeypatch):
    monkeypatch.setattr(runtime, "_chosen", None)


def test_loads_a_model_and_logs_the_runtime(model_path, fresh_choice, caplog):
    with caplog.at_level(logging.INFO, logger="edge.vision.runtime"):
        interpreter = runtime.make_interpreter(model_path, threads=2)
    assert "TFLite runtime: ai_edge_litert.interpreter" in caplog.text
    assert list(interpreter.get_input_details()[0]["shape"]) == [1, 16, 12, 3]
    assert runtime.runtime_name() == "ai_edge_litert.interpreter"


def test_without_xnnpack_still_loads(model_path):
    interpreter = runtime.make_interpreter(model_path, xnnpack=False)
    assert list(interpreter.get_output_details()[0]["shape"]) == [1, 128]


def test_falls_back_in_the_documented_order(monkeypatch, fresh_choice):
    tried = []
    fallback = types.SimpleNamespace(Interpreter=object)

    def fake_import(name):
        tried.append(name)
        if name == "tflite_runtime.interpreter":
            return fallback
        raise ImportError(name)

    monkeypatch.setattr(runtime.importlib, "import_module", fake_import)
    assert runtime.runtime_name() == "tflite_runtime.interpreter"
    assert tried == ["ai_edge_litert.interpreter", "tflite_runtime.interpreter"]


def test_no_runtime_at_all_is_a_model_error(monkeypatch, fresh_choice):
    def no_import(name):
        raise ImportError(name)

    monkeypatch.setattr(runtime.importlib, "import_module", no_import)
    with pytest.raises(ModelError, match="no TFLite runtime"):
        runtime.runtime_name()


def test_truncated_model_names_the_file(model_path, tmp_path):
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(model_path.read_bytes()[:2000])
    with pytest.raises(ModelError, match=r"truncated\.tflite: not a loadable TFLite model"):
        runtime.make_interpreter(truncated)


def test_garbage_and_empty_files_are_model_errors(tmp_path):
    for name, content in (("junk.tflite", b"not a model" * 50), ("empty.tflite", b"")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ModelError, match=name):
            runtime.make_interpreter(path)


def test_missing_file_and_bad_threads(model_path, tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        runtime.make_interpreter(tmp_path / "nope.tflite")
    with pytest.raises(ModelError, match="threads must be >= 1"):
        runtime.make_interpreter(model_path, threads=0)
