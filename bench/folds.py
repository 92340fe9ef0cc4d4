"""The command line and start-up the leave-one-swimmer-out benchmarks share (drift.py and
open_set.py): which data, where to write, a quick toy recipe or fewer epochs, how many folds, and
--dump/--replay to re-evaluate saved embeddings without training again."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from train.fit import Recipe, configure_threads

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "swimmers"
QUICK_RECIPE = {"epochs": 2, "batches_per_epoch": 5}  # a smoke run, not a figure


def fold_parser(description: str, default_out: Path) -> argparse.ArgumentParser:
    """The shared options; a benchmark adds its own before parsing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--quick", action="store_true", help="a 2-epoch toy recipe, 2 folds")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--folds", type=int, help="leave out only the first N swimmers")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dump", type=Path, help="save every model's embeddings here")
    parser.add_argument("--replay", type=Path, help="evaluate --dump'ed embeddings, no training")
    return parser


def start(args: argparse.Namespace) -> Recipe:
    """Logging and TensorFlow threads set up; the recipe the options ask for."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    configure_threads(args.threads)
    recipe = replace(Recipe(), **QUICK_RECIPE) if args.quick else Recipe()
    return replace(recipe, epochs=args.epochs) if args.epochs else recipe
