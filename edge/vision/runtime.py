"""Picking a TFLite interpreter that exists on this machine, and opening a model with it.

A Raspberry Pi has `ai_edge_litert` (the maintained runtime) or, on older images,
`tflite_runtime`; a development host may have only TensorFlow. The first that imports wins and
is logged, so a slow or odd result can be traced to the runtime that produced it. TensorFlow is
imported only inside `_load_interpreter_class`, as the last resort, never at module import.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from edge.errors import ModelError

log = logging.getLogger(__name__)

# Module paths in order of preference; each exposes an `Interpreter` class.
RUNTIMES = ("ai_edge_litert.interpreter", "tflite_runtime.interpreter", "tensorflow.lite")

_chosen: tuple[str, Any] | None = None


def _load_interpreter_class() -> tuple[str, Any]:
    """The first importable runtime's (name, Interpreter class), cached for the process."""
    global _chosen
    if _chosen is None:
        for name in RUNTIMES:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            _chosen = (name, module.Interpreter)
            log.info("TFLite runtime: %s", name)
            break
        else:
            raise ModelError(
                "no TFLite runtime found: install ai-edge-litert (or tflite-runtime) for edge use"
            )
    return _chosen


def runtime_name() -> str:
    """Which runtime `make_interpreter` uses (for reports and logs)."""
    return _load_interpreter_class()[0]


def make_interpreter(model_path: str | Path, threads: int = 1, xnnpack: bool = True) -> Any:
    """An allocated interpreter for `model_path`, running on `threads` CPU threads.

    `xnnpack=False` skips the default XNNPACK delegate: only for inspecting a model (shapes),
    where building the delegate is wasted time and its log line noise.

    A missing, truncated or corrupt file is a `ModelError` naming the file, not the runtime's
    own message alone: that is what a user copying bundles around gets wrong.
    """
    path = Path(model_path)
    if threads < 1:
        raise ModelError(f"{path}: threads must be >= 1, got {threads}")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    module_name, interpreter_class = _load_interpreter_class()
    try:
        options = {} if xnnpack else {"experimental_op_resolver_type": _no_delegates(module_name)}
        interpreter = interpreter_class(model_path=str(path), num_threads=threads, **options)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"{path}: not a loadable TFLite model ({reason})") from error
    return interpreter


def _no_delegates(module_name: str) -> Any:
    """The runtime's `OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES`."""
    module = importlib.import_module(module_name)
    resolver = getattr(module, "OpResolverType", None) or module.experimental.OpResolverType
    return resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
