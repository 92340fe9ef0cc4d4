"""What `reid-convert` does: a training run in, a verified (and optionally signed) bundle out.

Steps: read RUN (embedder.keras, run.json, classifier.npz), draw a representative set from the
training side of DIR's time split (every identity, never the test crops reid-check scores),
convert to float32 and int8 TFLite, write the bundle atomically, then run the float-vs-int8
check on DIR's test crops and record its figures in the manifest.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convert.errors import ConvertError
from train.data import list_samples, load_images, time_split
from train.descriptor import flatten_water

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)

RUN_FILES = ("embedder.keras", "run.json", "classifier.npz")


@dataclass(frozen=True)
class RunInfo:
    """What reid-convert needs from a reid-train RUN folder."""

    root: Path
    height: int
    width: int
    embedding_size: int
    colour_weight: float
    identities: list[str]
    unknown_threshold: float
    track_threshold: float
    calibration: dict[str, Any]


def read_run(run: str | Path) -> RunInfo:
    """Check RUN has every file reid-train writes and read run.json's input contract."""
    root = Path(run)
    if not root.is_dir():
        raise ConvertError(f"{root}: RUN folder not found (expected reid-train --out output)")
    missing = [name for name in RUN_FILES if not (root / name).is_file()]
    if missing:
        raise ConvertError(f"{root}: incomplete RUN folder, missing {', '.join(missing)}")
    try:
        info = json.loads((root / "run.json").read_text(encoding="utf-8"))
        return RunInfo(
            root=root,
            height=int(info["input"]["height"]),
            width=int(info["input"]["width"]),
            embedding_size=int(info["embedding_size"]),
            colour_weight=float(info.get("colour_weight", 0.0)),
            identities=[str(i) for i in info["identities"]],
            unknown_threshold=float(info["unknown_threshold"]),
            track_threshold=float(info["track_threshold"]),
            calibration=dict(info["calibration"]),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ConvertError(f"{root / 'run.json'}: malformed ({error!r})") from error


def representative_images(data: str | Path, height: int, width: int) -> np.ndarray:
    """Calibration crops from the training side of DIR's time split, across all identities."""
    from convert.quantize import REPRESENTATIVE_SIZE, representative_indices

    train = time_split(list_samples(data)).train
    if not train:
        raise ConvertError(f"{data}: no training-side crops to calibrate int8 with")
    chosen = representative_indices([s.identity for s in train], REPRESENTATIVE_SIZE)
    images, _, _ = load_images([train[i] for i in chosen], height, width)
    return flatten_water(images)  # as the model sees crops (edge.vision.colour.flatten_water)


def load_embedder(run: RunInfo) -> Any:
    """The Keras embedder, its input checked against run.json."""
    import keras

    try:
        model = keras.models.load_model(run.root / "embedder.keras", compile=False)
    except (OSError, ValueError) as error:
        raise ConvertError(f"{run.root / 'embedder.keras'}: cannot load ({error})") from error
    shape = tuple(model.inputs[0].shape[1:])
    if shape != (run.height, run.width, 3):
        raise ConvertError(
            f"{run.root}: embedder input {shape} != run.json {run.height}x{run.width}"
        )
    return model


def convert_run(
    run_dir: str | Path,
    data: str | Path,
    out: str | Path,
    sign_key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """The whole command; returns the check's figures (also written to the manifest, which is
    signed last when a key is given)."""
    from convert.bundle_writer import BundleContents, update_manifest, write_bundle
    from convert.check import evaluate, test_crops
    from convert.probes import make_probes
    from convert.quantize import convert
    from edge.bundle import load_bundle
    from edge.probes import PROBES

    run = read_run(run_dir)
    images = representative_images(data, run.height, run.width)
    models = convert(load_embedder(run), images)
    contents = BundleContents(
        int8_model=models.int8,
        float_model=models.float32,
        classifier=run.root / "classifier.npz",
        height=run.height,
        width=run.width,
        embedding_size=run.embedding_size,
        colour_weight=run.colour_weight,
        identities={i: f"Swimmer {i}" for i in run.identities},
        unknown_threshold=run.unknown_threshold,
        track_threshold=run.track_threshold,
        calibration=run.calibration,
        source_run=str(run.root.resolve()),
    )
    bundle_dir = write_bundle(contents, out)
    bundle = load_bundle(bundle_dir)
    metrics = evaluate(bundle, data)
    probes, spec = make_probes(bundle, *test_crops(data))
    update_manifest(bundle_dir, {"metrics": metrics, "probes": spec}, {PROBES: probes}, sign_key)
    return metrics
