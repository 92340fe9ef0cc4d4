"""Rerun every benchmark, then rebuild the README's results tables from bench/results/*.json.

    python bench/run_all.py            # everything (about an hour on 2 cores)
    python bench/run_all.py --tables   # only regenerate the README tables from the JSON files

Every number in the README's results section comes from a JSON file written here; the tables
sit between the `<!-- results:begin -->` and `<!-- results:end -->` markers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
WORK = REPO / "bench" / "work"  # the benchmark RUN and bundle (git-ignored)
README = REPO / "README.md"
DATA = REPO.parent / "shared" / "data" / "swimmers"
BIN = Path(sys.executable).parent
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def run(*args: object) -> None:
    command = [str(a) for a in args]
    print("$", " ".join(command), flush=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(command, check=True, env=env, cwd=REPO)


def run_benchmarks(data: Path, soak_minutes: float) -> None:
    python = sys.executable
    run(python, "bench/drift.py", "--data", data)
    run(python, "bench/accuracy.py", "--data", data)
    run(BIN / "reid-train", "--data", data, "--out", WORK / "run", "--no-progress")
    run(BIN / "reid-convert", WORK / "run", "--data", data, "--out", WORK / "bundle")
    run(python, "bench/quantization.py", "--run", WORK / "run", "--data", data)
    run(python, "bench/open_set.py", "--data", data)
    run(python, "bench/collect.py", "--data", data)
    run(python, "bench/geometry.py", "--data", data)
    run(python, "bench/pipeline.py", "--bundle", WORK / "bundle", "--data", data)
    run(python, "bench/session.py", "--bundle", WORK / "bundle", "--data", data)
    run(python, "bench/session.py", "--train", "--seeds", 0, 1, 2, "--data", data,
        "--out", RESULTS / "session_trained.json")  # fmt: skip
    run(python, "bench/session.py", "--train", "--every-crop", "--data", data,
        "--out", RESULTS / "session_every_crop.json")  # fmt: skip
    run(python, "bench/session.py", "--train", "--layout", 1, "--seeds", 0, 1, 2, "--data", data,
        "--out", RESULTS / "session_layout1.json")  # fmt: skip
    run(python, "bench/session.py", "--bundle", WORK / "bundle", "--data", data, "--lanes", 4,
        "--per-lane", 2, "--seconds", 60, "--out", RESULTS / "session_4x2.json")  # fmt: skip
    run(python, "bench/session.py", "--train", "--hard-edges", "--data", data,
        "--out", RESULTS / "session_hard.json")  # fmt: skip
    run(
        python,
        "bench/soak.py",
        "--bundle",
        WORK / "bundle",
        "--data",
        data,
        "--minutes",
        soak_minutes,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", action="store_true", help="only regenerate the README tables")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    args = parser.parse_args()
    if not args.tables:
        run_benchmarks(args.data, args.soak_minutes)
    sys.path.insert(0, str(REPO / "bench"))
    from tables import render

    text = README.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    sys.path.insert(0, str(REPO / "bench"))
    from machine import cpu_name

    machine = f"rendered on {cpu_name()}; each benchmark's JSON records the CPU it ran on"
    README.write_text(f"{head}{BEGIN}\n{render(RESULTS, machine)}\n{END}{tail}")
    print(f"README tables regenerated from {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
