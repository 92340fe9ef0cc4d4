"""The device package runs without TensorFlow, Keras, scikit-learn, train/ or convert/.

A child interpreter installs a meta-path finder that refuses those packages, imports every
module of edge/ and embeds a crop with an int8 model: what a Pi with only `.[edge]` does.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
from tiny_bundle import HEIGHT, IDENTITIES, WIDTH, crop, tiny_embedder

REPO = Path(__file__).resolve().parents[1]
BLOCKED = ("tensorflow", "keras", "sklearn", "train", "convert")

CHILD = """
import importlib, pkgutil, sys
BLOCKED = {blocked!r}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked import of {{name}}")
        return None

sys.meta_path.insert(0, Blocker())
import edge
for module in pkgutil.walk_packages(edge.__path__, "edge."):
    importlib.import_module(module.name)
import numpy as np
from edge.vision.embed import Embedder
from edge.vision.runtime import runtime_name
out = Embedder({model!r}, {height}, {width}).embed([np.full((30, 20, 3), 90, np.uint8)])
assert out.shape == (1, 128), out.shape
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
print("ok", runtime_name())
"""


def test_edge_imports_and_embeds_with_host_packages_blocked(tmp_path):
    from convert.quantize import convert
    from edge.vision.preprocess import resize_crop

    images = np.stack([resize_crop(crop(i, 1), HEIGHT, WIDTH) for i in IDENTITIES])
    with contextlib.redirect_stdout(io.StringIO()):
        model = convert(tiny_embedder(), images).int8
    (tmp_path / "m.tflite").write_bytes(model)
    code = CHILD.format(
        blocked=BLOCKED, model=str(tmp_path / "m.tflite"), height=HEIGHT, width=WIDTH
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "ok ai_edge_litert.interpreter"
