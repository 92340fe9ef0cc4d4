"""Accuracy of the three methods on the reference protocol (random split) and the time split.

    python bench/accuracy.py [--data DIR] [--seeds 0 1 2] [--quick] [--out JSON]

Methods: colour histogram + SVM (square-rooted bins, and raw bins as the plain baseline),
cross-entropy CNN (same backbone), triplet embedder + linear SVM
(the default Recipe). For each split and seed: per-crop test accuracy and training seconds. The
full run (3 seeds) takes about 20 minutes on 2 free cores; `--quick` (one seed, a third of the
epochs) about 2. Training times depend on how busy the host is: the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from machine import cpu_name

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from train.fit import Recipe, configure_threads  # noqa: E402

configure_threads(2)

from train.baselines import (  # noqa: E402
    fit_histogram_svm,
    predict_ce_cnn,
    predict_histogram_svm,
    train_ce_cnn,
)
from train.data import load_images  # noqa: E402
from train.descriptor import DEFAULT_COLOUR_WEIGHT, describe, flatten_water  # noqa: E402
from train.fit import embed, train_embedder  # noqa: E402
from train.run import make_split  # noqa: E402
from train.svm import fit_classifier  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "swimmers"
DEFAULT_OUT = REPO / "bench" / "results" / "accuracy.json"


def histogram_svm(x_train, y_train, x_test, recipe) -> list[str]:
    return predict_histogram_svm(fit_histogram_svm(x_train, y_train), x_test)


def histogram_svm_raw(x_train, y_train, x_test, recipe) -> list[str]:
    """Without the square root: the kind of colour baseline behind data/README.md's 72 %."""
    svc = fit_histogram_svm(x_train, y_train, hellinger=False)
    return predict_histogram_svm(svc, x_test, hellinger=False)


def ce_cnn(x_train, y_train, x_test, recipe) -> list[str]:
    model, identities = train_ce_cnn(x_train, y_train, recipe)
    return predict_ce_cnn(model, identities, x_test)


def triplet_svm(x_train, y_train, x_test, recipe) -> list[str]:
    """The shipped method: the CNN sees crops cut down to their swimmers (edge/vision/colour.py)."""
    x_train, x_test = flatten_water(x_train), flatten_water(x_test)
    model, _ = train_embedder(x_train, y_train, recipe, progress=False)
    w = DEFAULT_COLOUR_WEIGHT
    svc = fit_classifier(describe(embed(model, x_train), x_train, w), y_train)
    return [str(p) for p in svc.predict(describe(embed(model, x_test), x_test, w))]


METHODS = {
    "colour_histogram_svm": histogram_svm,
    "colour_histogram_svm_raw": histogram_svm_raw,
    "ce_cnn": ce_cnn,
    "triplet_svm": triplet_svm,
}
SPLITS = {
    "time": "last 20 % of each identity's frames, 10-frame gap",
    "random": "reference protocol: per-image random 80/20 split (leaks)",
}


def measure(data: Path, split: str, seed: int, recipe: Recipe) -> dict[str, dict]:
    """Every method on one split and seed: accuracy and training seconds."""
    chosen = make_split(data, split, seed)
    # The histogram sees full-size crops; the CNNs see the recipe's input size.
    full = {side: load_images(getattr(chosen, side), 280, 180) for side in ("train", "test")}
    small = {
        side: load_images(getattr(chosen, side), recipe.height, recipe.width)
        for side in ("train", "test")
    }
    results = {}
    for name, method in METHODS.items():
        images = full if name.startswith("colour_histogram") else small
        (x_train, kept_train, _), (x_test, kept_test, _) = images["train"], images["test"]
        y_train, y_test = [s.identity for s in kept_train], [s.identity for s in kept_test]
        start = time.perf_counter()
        predicted = method(x_train, y_train, x_test, replace(recipe, seed=seed))
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(np.asarray(predicted) == np.asarray(y_test)))
        results[name] = {"accuracy": round(accuracy, 4), "train_seconds": round(seconds, 1)}
        print(f"{split:6s} seed {seed} {name:26s} {accuracy:.4f} {seconds:6.1f} s", flush=True)
    return results


def summarise(runs: list[dict]) -> dict:
    out = {}
    for name in METHODS:
        accs = [r[name]["accuracy"] for r in runs]
        secs = [r[name]["train_seconds"] for r in runs]
        out[name] = {
            "accuracy_mean": round(float(np.mean(accs)), 4),
            "accuracy_min": round(float(np.min(accs)), 4),
            "accuracy_per_seed": accs,
            "train_seconds_mean": round(float(np.mean(secs)), 1),
        }
    return out


def write_report(out: Path, args, recipe: Recipe, splits: dict, started: float) -> None:
    """Rewritten after every split and seed, so an interrupted run still leaves its figures."""
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": str(args.data),
        "quick": args.quick,
        "recipe": recipe.to_dict(),
        "colour_weight": DEFAULT_COLOUR_WEIGHT,  # triplet_svm's descriptor (train.descriptor)
        "host": {
            "machine": platform.machine(),
            "cpu": cpu_name(),
            "cpus": os.cpu_count(),
            "load_average_at_write": os.getloadavg(),
            "tf_threads": 2,
        },
        "total_seconds": round(time.perf_counter() - started, 1),
        "splits": splits,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="one seed, a third of the epochs")
    parser.add_argument("--splits", nargs="+", choices=list(SPLITS), default=list(SPLITS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    recipe, seeds = Recipe(), args.seeds
    if args.quick:
        recipe, seeds = replace(recipe, epochs=max(1, recipe.epochs // 3)), seeds[:1]
    started = time.perf_counter()
    splits: dict[str, dict] = {}
    for split in args.splits:
        description, runs = SPLITS[split], []
        for seed in seeds:
            runs.append(measure(args.data, split, seed, recipe))
            done = seeds[: len(runs)]
            splits[split] = {"description": description, "seeds": done, **summarise(runs)}
            write_report(args.out, args, recipe, splits, started)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
