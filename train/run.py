"""One training run end to end: read and split the crops, train, fit the SVM, measure, write RUN.

RUN/ holds embedder.keras (the exported embedder only), classifier.npz (fitted on descriptors:
embedding beside colour signature, train.descriptor), run.json (input contract, identities,
open-set threshold, colour weight, recipe), metrics.json (the test split's figures) and plots.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from train.data import Split, list_samples, load_images, random_split, time_split
from train.descriptor import DEFAULT_COLOUR_WEIGHT, describe, flatten_water
from train.errors import DataError
from train.evaluate import classification_report, retrieval_metrics
from train.fit import Recipe, embed, train_embedder
from train.model import EMBEDDING_SIZE
from train.openset import Thresholds, calibrate
from train.plots import plot_confusion, plot_curves, plot_tsne
from train.svm import export_classifier, fit_classifier, save_classifier

log = logging.getLogger(__name__)

MIN_TSNE_POINTS = 5


def make_split(data: Path, split: str, seed: int) -> Split:
    """The chosen split, each side sorted by identity then frame (the open-set check needs time
    order within an identity); an identity left with no training crop is a DataError."""
    samples = list_samples(data)
    chosen = time_split(samples) if split == "time" else random_split(samples, seed=seed)
    order = lambda s: (s.identity, s.frame)  # noqa: E731
    result = Split(sorted(chosen.train, key=order), sorted(chosen.test, key=order))
    empty = sorted({s.identity for s in samples} - {s.identity for s in result.train})
    if empty:
        raise DataError(f"identity {empty[0]!r} has too few crops to leave any for training")
    return result


def load_split(
    data: Path, split: str, recipe: Recipe
) -> tuple[np.ndarray, list[str], np.ndarray, list[str], list[str]]:
    """(x_train, y_train, x_test, y_test, skipped paths): crops at the recipe's input size, cut
    down to their swimmers as the model sees them (train.descriptor.flatten_water)."""
    chosen = make_split(data, split, recipe.seed)
    x_train, kept_train, skipped_train = load_images(chosen.train, recipe.height, recipe.width)
    x_test, kept_test, skipped_test = load_images(chosen.test, recipe.height, recipe.width)
    x_train, x_test = flatten_water(x_train), flatten_water(x_test)
    skipped = [str(p) for p in skipped_train + skipped_test]
    y_train, y_test = [s.identity for s in kept_train], [s.identity for s in kept_test]
    log.info(
        "%d training and %d test crops, %d unreadable skipped",
        len(y_train),
        len(y_test),
        len(skipped),
    )
    return x_train, y_train, x_test, y_test, skipped


def train_run(
    data: Path,
    out: Path,
    recipe: Recipe,
    split: str = "time",
    kernel: str = "linear",
    C: float = 1.0,
    colour_weight: float = DEFAULT_COLOUR_WEIGHT,
    progress: bool = True,
) -> str:
    """Train and write RUN; returns a one-line summary for the terminal."""
    x_train, y_train, x_test, y_test, skipped = load_split(Path(data), split, recipe)
    identities = sorted(set(y_train))
    start = time.perf_counter()
    model, history = train_embedder(x_train, y_train, recipe, progress=progress)
    seconds = time.perf_counter() - start
    gallery = describe(embed(model, x_train), x_train, colour_weight)
    queries = describe(embed(model, x_test), x_test, colour_weight)
    svc = fit_classifier(gallery, y_train, kernel=kernel, C=C)
    # Genuine open-set scores must come from frames the CNN never trained on, as far from its
    # training frames as the data goes: the time split's later frames.
    thresholds = calibrate(gallery, y_train, queries, y_test)
    predicted = [str(p) for p in svc.predict(queries)] if len(queries) else []

    metrics = {
        "split": split,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "skipped": len(skipped),
        "skipped_paths": skipped,
        "train_seconds": round(seconds, 1),
        **classification_report(y_test, predicted, identities),
        **(retrieval_metrics(queries, y_test, gallery, y_train) if len(queries) else {}),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "embedder.keras")
    save_classifier(out / "classifier.npz", export_classifier(svc, gallery, y_train))
    classifier = {"kernel": kernel, "C": C}
    info = _run_info(data, recipe, split, identities, thresholds, classifier, colour_weight)
    _write_json(out / "run.json", info)
    _write_json(out / "metrics.json", metrics)
    _write_plots(out, metrics, history, queries, y_test, identities, recipe.seed)
    return (
        f"{split} split: accuracy {metrics['accuracy']:.4f} on {len(y_test)} test crops, "
        f"{len(skipped)} unreadable skipped, trained in {seconds:.0f} s -> {out}"
    )


def _run_info(
    data, recipe, split, identities, thresholds: Thresholds, classifier, colour_weight
) -> dict:
    return {
        "input": {
            "height": recipe.height,
            "width": recipe.width,
            "channel_order": "RGB",
            "normalization": "raw uint8 0-255",
        },
        "embedding_size": EMBEDDING_SIZE,
        "colour_weight": colour_weight,
        "identities": identities,
        "unknown_threshold": thresholds.crop,
        "track_threshold": thresholds.track,
        "calibration": thresholds.calibration,
        "data": str(data),
        "split": split,
        "seed": recipe.seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipe": recipe.to_dict(),
        "classifier": classifier,
    }


def _write_plots(out, metrics, history, queries, y_test, identities, seed) -> None:
    plot_confusion(metrics["confusion"], identities, out / "confusion.png")
    plot_curves(history, out / "curves.png")
    if len(queries) >= MIN_TSNE_POINTS:
        plot_tsne(queries, y_test, out / "tsne.png", seed=seed)


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, default=_plain) + "\n")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else str(value)
