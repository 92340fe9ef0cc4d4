"""`reid-train`: crops folder -> trained embedder, fitted SVM, metrics and plots in a RUN folder.

    reid-train --data DIR --out RUN [--epochs N] [--split time|random] [--seed N]

A user's mistake (missing folder, empty identity, bad flag value) is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from train.descriptor import DEFAULT_COLOUR_WEIGHT
from train.errors import TrainError
from train.fit import Recipe
from train.svm import DEFAULT_C, DEFAULT_KERNEL, KERNELS

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEFAULT_THREADS = 2


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    default = Recipe()
    parser = argparse.ArgumentParser(prog="reid-train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="folder of <swimmer id>/ crops")
    parser.add_argument("--out", required=True, type=Path, help="RUN folder to write")
    parser.add_argument("--epochs", type=int, default=default.epochs)
    parser.add_argument(
        "--batches", type=int, default=default.batches_per_epoch, help="P×K batches per epoch"
    )
    parser.add_argument("--split", choices=("time", "random"), default="time")
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument(
        "--input-size",
        default=f"{default.height}x{default.width}",
        help="HEIGHTxWIDTH of the model input (default %(default)s)",
    )
    parser.add_argument("--loss", default=default.loss, help="semi-hard or batch-hard")
    parser.add_argument("--margin", type=float, default=default.margin)
    parser.add_argument("--p", type=int, default=default.p, help="identities per batch")
    parser.add_argument("--k", type=int, default=default.k, help="crops per identity per batch")
    parser.add_argument("--lr", type=float, default=default.lr)
    parser.add_argument(
        "--erase",
        type=float,
        default=default.erase_prob,
        help="random-erasing probability (hides colour; default off)",
    )
    parser.add_argument("--kernel", choices=KERNELS, default=DEFAULT_KERNEL, help="SVM kernel")
    parser.add_argument("--C", type=float, default=DEFAULT_C, help="SVM regularisation")
    parser.add_argument(
        "--colour-weight",
        type=float,
        default=DEFAULT_COLOUR_WEIGHT,
        help="colour signature's share of the descriptor, 0 <= w < 1 (default %(default)s)",
    )
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help="TensorFlow CPU threads"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    """The default Recipe with the flags given on the command line applied."""
    try:
        height, width = (int(v) for v in args.input_size.lower().split("x"))
    except ValueError:
        raise TrainError(
            f"--input-size {args.input_size!r}: expected HEIGHTxWIDTH, e.g. 128x80"
        ) from None
    if min(height, width, args.epochs, args.batches) < 1:
        raise TrainError("--input-size, --epochs and --batches must be positive")
    if not 0 <= args.colour_weight < 1:
        raise TrainError(f"--colour-weight {args.colour_weight}: expected 0 <= w < 1")
    return replace(
        Recipe(),
        height=height,
        width=width,
        epochs=args.epochs,
        batches_per_epoch=args.batches,
        seed=args.seed,
        loss=args.loss,
        margin=args.margin,
        p=args.p,
        k=args.k,
        lr=args.lr,
        erase_prob=args.erase,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format=LOG_FORMAT)
    try:
        recipe = recipe_from_args(args)
        from train.fit import configure_threads  # before TensorFlow runs its first op
        from train.run import train_run

        configure_threads(args.threads)
        summary = train_run(
            args.data,
            args.out,
            recipe,
            split=args.split,
            kernel=args.kernel,
            C=args.C,
            colour_weight=args.colour_weight,
            progress=not args.no_progress,
        )
    except TrainError as error:
        sys.stderr.write(f"reid-train: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
