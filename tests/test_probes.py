"""The on-device model check: reid-convert stores probes, this device reproduces them, and a
bundle whose int8 model was swapped for another of the same shape (hashes rewritten to match)
is refused by reid-check --device, `python -m edge.bundle verify` and the daemon alike."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_bundle import HEIGHT, WIDTH, tiny_embedder, write_data, write_run

from convert.build import convert_run, representative_images
from convert.check import main as reid_check
from convert.enroll import enroll
from convert.probes import MAX_SCORE_DIFF, MIN_COSINE, PER_SWIMMER
from edge.bundle import MANIFEST, load_bundle, sha256_file
from edge.errors import BundleError
from edge.probes import ProbeLimits, ProbeReport, require_agreement
from edge.vision.identify import Identifier

REPO = Path(__file__).resolve().parents[1]
BLOCKED = ("tensorflow", "keras", "sklearn")


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, Path]:
    """(data, bundle) made by reid-convert's own function from a tiny RUN."""
    tmp = tmp_path_factory.mktemp("probes")
    data = write_data(tmp / "data")
    run = write_run(tmp / "run", data)
    with contextlib.redirect_stdout(io.StringIO()):
        convert_run(run, data, tmp / "bundle")
    return data, tmp / "bundle"


@pytest.fixture(scope="module")
def swapped(converted, tmp_path_factory) -> Path:
    """The bundle with another int8 model of the same shape, its hash rewritten to match."""
    data, bundle = converted
    other = tiny_embedder(seed=1)
    from convert.quantize import convert

    with contextlib.redirect_stdout(io.StringIO()):
        int8 = convert(other, representative_images(data, HEIGHT, WIDTH)).int8
    copy = Path(shutil.copytree(bundle, tmp_path_factory.mktemp("swapped") / "bundle"))
    (copy / "model_int8.tflite").write_bytes(int8)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["files"]["model_int8.tflite"] = sha256_file(copy / "model_int8.tflite")
    (copy / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return copy


def test_convert_stores_probes_that_this_device_reproduces(converted, capsys) -> None:
    _, bundle = converted
    loaded = load_bundle(bundle)
    assert loaded.probes["count"] == 3 * PER_SWIMMER  # three swimmers
    assert (loaded.probes["min_cosine"], loaded.probes["max_score_diff"]) == (
        MIN_COSINE,
        MAX_SCORE_DIFF,
    )
    assert "probes.npz" in loaded.files
    report = require_agreement(loaded, Identifier.from_bundle(loaded))
    assert report is not None and report.problem is None
    assert report.cosines.min() > 0.9999  # same machine, same runtime: the same arithmetic
    assert reid_check(["--device", str(bundle)]) == 0
    assert capsys.readouterr().out.startswith(f"device check ok: {bundle}: 9 probes")


def test_a_swapped_model_is_refused_by_the_device_check(swapped, capsys) -> None:
    load_bundle(swapped)  # consistent with its own manifest: only the probes can tell
    assert reid_check(["--device", str(swapped)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "on-device check failed: probe" in err
    assert "int8 embedding cosine" in err and f"below {MIN_COSINE}" in err


def test_install_and_the_daemon_refuse_it_too(swapped) -> None:
    verify = subprocess.run(
        [sys.executable, "-m", "edge.bundle", "verify", str(swapped)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert verify.returncode == 1
    assert verify.stderr.strip().splitlines()[-1].startswith("bundle invalid: ")
    assert "on-device check failed" in verify.stderr
    loaded = load_bundle(swapped)
    with pytest.raises(BundleError, match="on-device check failed: probe"):
        require_agreement(loaded, Identifier.from_bundle(loaded))


def test_the_device_check_needs_no_tensorflow(converted) -> None:
    _, bundle = converted
    child = f"""
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"blocked import of {{name}}")
sys.meta_path.insert(0, Blocker())
from convert.check import main
sys.exit(main(["--device", {str(bundle)!r}]))
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "device check ok" in done.stdout


def test_enrolment_carries_the_probes_answered_again(converted, tmp_path) -> None:
    data, bundle = converted
    out = tmp_path / "enrolled"
    with contextlib.redirect_stdout(io.StringIO()):
        enroll(bundle, data, out)
    before, after = load_bundle(bundle), load_bundle(out)
    assert after.probes["count"] == before.probes["count"]
    report = require_agreement(after, Identifier.from_bundle(after))
    assert report is not None and report.problem is None


def report(cosines, diffs, changed=()) -> ProbeReport:
    return ProbeReport(["1", "2"], np.array(cosines), np.array(diffs), list(changed),
                       ProbeLimits(min_cosine=0.97, max_score_diff=0.05))  # fmt: skip


def test_the_refusal_names_the_probe_and_by_how_much() -> None:
    assert report([0.99, 0.98], [0.01, 0.04]).problem is None
    assert report([0.99, 0.5], [0.0, 0.0]).problem == (
        "probe 1 (swimmer 2): int8 embedding cosine 0.5000 to the host's, below 0.97"
    )
    assert report([0.99, 0.99], [0.0, 0.0], changed=[0]).problem == (
        "probe 0 (swimmer 1): answered otherwise than on the host"
    )
    assert report([0.99, 0.99], [0.06, 0.0]).problem == (
        "probe 0 (swimmer 1): score 0.0600 from the host's, more than 0.05"
    )


@pytest.mark.parametrize(("margin", "refused"), [(1.0, True), (0.0, False)])
def test_a_changed_answer_counts_only_where_the_host_had_room(
    converted, tmp_path, margin, refused
) -> None:
    """The recorded answer says another swimmer: with a wide host margin that is a refusal; on
    a knife edge (margin 0) either answer is fair on another instruction set."""
    _, bundle = converted
    copy = Path(shutil.copytree(bundle, tmp_path / "bundle"))
    with np.load(copy / "probes.npz") as npz:
        probes = {key: npz[key] for key in npz.files}
    probes["answers"] = np.roll(probes["answers"], PER_SWIMMER)  # each probe: another swimmer
    probes["margins"] = np.full(len(probes["margins"]), margin)
    np.savez(copy / "probes.npz", **probes)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["files"]["probes.npz"] = sha256_file(copy / "probes.npz")
    (copy / MANIFEST).write_text(json.dumps(manifest))
    loaded = load_bundle(copy)
    if refused:
        with pytest.raises(BundleError, match="answered otherwise than on the host"):
            require_agreement(loaded, Identifier.from_bundle(loaded))
    else:
        report = require_agreement(loaded, Identifier.from_bundle(loaded))
        assert report is not None and report.problem is None
