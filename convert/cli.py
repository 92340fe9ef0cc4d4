"""`reid-convert RUN --data DIR --out BUNDLE`: a training run in, a verified device bundle out.

Steps: read RUN (embedder.keras, run.json, classifier.npz), draw a representative set from the
training side of DIR's time split (every identity, never the test crops reid-check scores),
convert to float32 and int8 TFLite, write the bundle atomically, then run the float-vs-int8
check on DIR's test crops and record its figures in the manifest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from convert.build import convert_run
from convert.errors import run_host_main
from edge.cli import setup_logging
from edge.signing import load_private_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reid-convert", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="RUN folder written by reid-train")
    parser.add_argument("--data", required=True, type=Path, help="folder of <swimmer id>/ crops")
    parser.add_argument("--out", required=True, type=Path, help="BUNDLE directory to write")
    parser.add_argument("--sign", type=Path, metavar="KEY", help="Ed25519 private key (PEM)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        key = load_private_key(args.sign) if args.sign else None  # before the long work
        metrics = convert_run(args.run, args.data, args.out, key)
        print(
            f"bundle {args.out} (+ .tar.gz): int8 {metrics['size_bytes']['int8']} bytes, "
            f"accuracy drop {metrics['drop']:+.4f}, cosine mean {metrics['cosine']['mean']:.4f}"
        )
        return 0

    return run_host_main(body)


if __name__ == "__main__":
    sys.exit(main())
