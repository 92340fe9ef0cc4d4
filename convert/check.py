"""`reid-check BUNDLE --data DIR [--max-drop P]`: does int8 still identify swimmers like float?

`reid-check --device BUNDLE` is the other question, asked on the Pi: does THIS device's runtime
reproduce the host's answers on the bundle's probes? That is edge/probes.py, which needs only the
edge install (no TensorFlow): the flag hands over to it before anything else happens.

Both models run through the device's own code (edge.vision.embed.Embedder,
edge.vision.colour.describe, edge.vision.classify.Classifier) on the same crops: the later,
time-split test frames of DIR, read at full size so resizing is part of what is compared. It
reports accuracy of each and the drop, the cosine between float and int8 embeddings, per-crop
latency (one thread, median, both models interleaved in this one process so a busy machine slows
both alike), and model sizes. Exit 1 when the drop exceeds P.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from convert.errors import ConvertError, run_host_main
from edge.bundle import Bundle, load_bundle
from edge.cli import setup_logging
from edge.errors import ImageError
from edge.probes import main as device_check
from edge.vision.classify import Classifier
from edge.vision.colour import describe
from edge.vision.embed import Embedder
from edge.vision.preprocess import read_rgb, resize_crop
from edge.vision.runtime import runtime_name
from train.data import list_samples, time_split

log = logging.getLogger(__name__)

DEFAULT_MAX_DROP = 0.005  # half a percentage point of accuracy
LATENCY_RUNS = 200
WARMUP_RUNS = 20


def test_crops(data: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """DIR's time-split test crops at full size, read with the device's reader."""
    crops, labels = [], []
    for sample in time_split(list_samples(data)).test:
        try:
            crops.append(read_rgb(sample.path))
        except ImageError as error:
            log.warning("skipping %s", error)
            continue
        labels.append(sample.identity)
    if not crops:
        raise ConvertError(f"{data}: no readable test crops")
    return crops, labels


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Row-wise cosine of two sets of unit vectors: mean, min and 1st percentile."""
    cos = np.sum(a * b, axis=1)
    return {
        "mean": round(float(cos.mean()), 6),
        "min": round(float(cos.min()), 6),
        "p1": round(float(np.percentile(cos, 1)), 6),
    }


def accuracy(classifier: Classifier, descriptors: np.ndarray, labels: list[str]) -> dict:
    """Closed-set accuracy (the SVM's candidate) and open-set (unknowns count as wrong)."""
    predictions = classifier.predict(descriptors)
    closed = np.mean([p.candidate == y for p, y in zip(predictions, labels, strict=True)])
    opened = np.mean([p.swimmer_id == y for p, y in zip(predictions, labels, strict=True)])
    return {"accuracy": round(float(closed), 6), "identified": round(float(opened), 6)}


def median_ms(calls: dict[str, Callable[[int], object]], runs: int) -> dict[str, float]:
    """Median milliseconds per call for each named function, interleaved run by run."""
    for call in calls.values():
        for i in range(WARMUP_RUNS):
            call(i)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call(i)
            times[name].append(time.perf_counter() - start)
    return {name: round(float(np.median(t)) * 1e3, 4) for name, t in times.items()}


def latency(models: dict[str, Embedder], crops: list[np.ndarray], runs: int) -> dict[str, Any]:
    """Per-crop latency of the whole edge path (resize + quantize + invoke + normalise), and of
    the interpreter alone on pre-resized pixels; one crop per call, as the daemon often does."""
    n = len(crops)
    first = next(iter(models.values()))
    pixels = [resize_crop(c, first.height, first.width)[None] for c in crops]
    per_crop = median_ms(
        {k: (lambda i, e=e: e.embed([crops[i % n]])) for k, e in models.items()}, runs
    )
    invoke = median_ms({k: (lambda i, e=e: e.raw(pixels[i % n])) for k, e in models.items()}, runs)
    return {
        "latency_ms": per_crop,
        "invoke_ms": invoke,
        "latency_ratio": round(per_crop["int8"] / per_crop["float32"], 4),
        "invoke_ratio": round(invoke["int8"] / invoke["float32"], 4),
    }


def evaluate(bundle: Bundle, data: str | Path, runs: int = LATENCY_RUNS) -> dict[str, Any]:
    """Every figure reid-check reports, as a JSON-ready dict."""
    crops, labels = test_crops(data)
    size = (bundle.input_height, bundle.input_width)
    models = {
        "float32": Embedder(bundle.float_model_path, *size, threads=1),
        "int8": Embedder(bundle.model_path, *size, threads=1),
    }
    classifier = Classifier.load(bundle.classifier_path, bundle.unknown_threshold)
    pixels = models["int8"].pixels(crops)
    embeddings = {name: e.embed_pixels(pixels) for name, e in models.items()}
    # Accuracy on the descriptors the device classifies; the cosine on the embeddings alone
    # (the colour signature does not quantize).
    scores = {
        name: accuracy(classifier, describe(e, pixels, bundle.colour_weight), labels)
        for name, e in embeddings.items()
    }
    return {
        "bundle": str(bundle.root),
        "data": str(data),
        "n_crops": len(crops),
        "runtime": runtime_name(),
        "accuracy": {name: s["accuracy"] for name, s in scores.items()},
        "identified": {name: s["identified"] for name, s in scores.items()},
        "drop": round(scores["float32"]["accuracy"] - scores["int8"]["accuracy"], 6),
        "cosine": cosine_stats(embeddings["float32"], embeddings["int8"]),
        **latency(models, crops, runs),
        "size_bytes": {
            "float32": bundle.float_model_path.stat().st_size,
            "int8": bundle.model_path.stat().st_size,
        },
    }


def default_report_path(bundle_path: Path) -> Path:
    """BUNDLE-check.md beside the bundle directory or archive (never inside: it is hashed)."""
    name = bundle_path.name.removesuffix(".tar.gz")
    return bundle_path.with_name(f"{name}-check.md")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--device" in argv:
        return device_check([arg for arg in argv if arg != "--device"])
    parser = argparse.ArgumentParser(prog="reid-check", description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="bundle directory or .tar.gz")
    parser.add_argument("--data", required=True, type=Path, help="folder of <swimmer id>/ crops")
    parser.add_argument("--max-drop", type=float, default=DEFAULT_MAX_DROP, metavar="P")
    parser.add_argument("--report", type=Path, help="markdown report path")
    parser.add_argument("--runs", type=int, default=LATENCY_RUNS, help="latency runs per model")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        from convert.report import write_report

        if args.runs < LATENCY_RUNS:
            raise ConvertError(f"--runs must be at least {LATENCY_RUNS} for a stable median")
        metrics = evaluate(load_bundle(args.bundle), args.data, args.runs)
        metrics["bundle"] = str(args.bundle)  # not the temp dir a .tar.gz was unpacked into
        metrics["max_drop"] = args.max_drop
        metrics["passed"] = metrics["drop"] <= args.max_drop
        metrics["report"] = str(
            write_report(metrics, args.report or default_report_path(args.bundle))
        )
        sys.stdout.write(json.dumps(metrics, indent=2) + "\n")
        return 0 if metrics["passed"] else 1

    return run_host_main(body)


if __name__ == "__main__":
    sys.exit(main())
