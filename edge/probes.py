"""The on-device model check: a bundle's probe crops, run through THIS device's runtime, must
give the embeddings and answers the host recorded.

The manifest's hashes prove the files are the ones written; they cannot prove that this Pi's
int8 kernels (ARM NEON, not the host's x86) compute what the host's did, nor catch a model
swapped for another of the same shape by someone who also rewrote the hashes. So reid-convert
stores a few crops per swimmer with the host's float32 and int8 embeddings, answers and scores
(`probes.npz`), and the limits they must be reproduced within (`manifest.probes`). The daemon
runs them at start, `install.sh --bundle` before swapping, and `reid-check --device` on demand;
a bundle outside the limits is refused with one line naming the probe and by how much.

Answers are compared only where the host's answer had room to spare (its margin over the
runner-up and over the threshold at least `ANSWER_MARGIN_FACTOR` times the score tolerance):
a crop on the edge may fairly fall either way on another instruction set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.bundle import Bundle, load_bundle
from edge.cli import run_main, setup_logging
from edge.config import BundleConfig
from edge.errors import BundleError
from edge.signing import installed_key
from edge.vision.colour import describe
from edge.vision.identify import Identifier

log = logging.getLogger(__name__)

PROBES = "probes.npz"
ANSWER_MARGIN_FACTOR = 2.0
UNKNOWN = ""  # an unknown answer in probes.npz (numpy string arrays have no None)
PROBE_ARRAYS = ("images", "labels", "int8", "answers", "scores", "margins")  # one row per probe


@dataclass(frozen=True)
class ProbeLimits:
    """How far this device may be from the host: the embedding cosine per probe, and the
    score (the daemon's similarity to the answered swimmer) per probe."""

    min_cosine: float
    max_score_diff: float

    @classmethod
    def from_manifest(cls, spec: dict[str, Any]) -> ProbeLimits:
        return cls(float(spec["min_cosine"]), float(spec["max_score_diff"]))


@dataclass(frozen=True)
class ProbeReport:
    """Every probe's figures on this device against the host's, and the first refusal."""

    labels: list[str]
    cosines: np.ndarray
    score_diffs: np.ndarray
    changed: list[int]  # probes answered otherwise than on the host, where that counts
    limits: ProbeLimits

    @property
    def problem(self) -> str | None:
        """Why the bundle is refused here, in one line; None when every probe agrees."""
        limits = self.limits
        low = int(np.argmin(self.cosines))
        if self.cosines[low] < limits.min_cosine:
            what = f"int8 embedding cosine {self.cosines[low]:.4f} to the host's"
            return f"{self._probe(low)}: {what}, below {limits.min_cosine}"
        if self.changed:
            return f"{self._probe(self.changed[0])}: answered otherwise than on the host"
        high = int(np.argmax(self.score_diffs))
        if self.score_diffs[high] > limits.max_score_diff:
            what = f"score {self.score_diffs[high]:.4f} from the host's"
            return f"{self._probe(high)}: {what}, more than {limits.max_score_diff}"
        return None

    def _probe(self, i: int) -> str:
        return f"probe {i} (swimmer {self.labels[i]})"

    def summary(self) -> str:
        cosine, diff = f"{self.cosines.min():.4f}", f"{self.score_diffs.max():.4f}"
        return (
            f"{len(self.labels)} probes: cosine min {cosine} (limit {self.limits.min_cosine}), "
            f"score diff max {diff} (limit {self.limits.max_score_diff}), "
            f"answers changed {len(self.changed)}"
        )


def run_probes(bundle: Bundle, identifier: Identifier) -> ProbeReport | None:
    """The bundle's probes through `identifier` (this device's runtime); None without probes."""
    if not bundle.probes:
        return None
    try:
        with np.load(bundle.root / bundle.probes["file"], allow_pickle=False) as npz:
            probes = {key: npz[key] for key in npz.files}
        limits = ProbeLimits.from_manifest(bundle.probes)
        if len({len(probes[key]) for key in PROBE_ARRAYS}) != 1:
            raise ValueError(f"arrays {', '.join(PROBE_ARRAYS)} differ in length")
        pixels = identifier.embedder.pixels(list(probes["images"]))
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise BundleError(f"{bundle.root / PROBES}: unusable probe set ({error})") from None
    embeddings = identifier.embedder.embed_pixels(pixels)
    cosines = np.sum(embeddings * probes["int8"], axis=1)
    descriptors = describe(embeddings, pixels, identifier.colour_weight)
    predictions = identifier.classifier.predict(descriptors)
    answers = [p.swimmer_id or UNKNOWN for p in predictions]
    scores = np.array([p.score for p in predictions])
    recorded, margins = probes["answers"].astype(str), probes["margins"]
    room = ANSWER_MARGIN_FACTOR * limits.max_score_diff
    changed = [i for i, now in enumerate(answers) if now != recorded[i] and margins[i] >= room]
    return ProbeReport(
        labels=[str(label) for label in probes["labels"]],
        cosines=cosines,
        score_diffs=np.abs(scores - probes["scores"]),
        changed=changed,
        limits=limits,
    )


def require_agreement(bundle: Bundle, identifier: Identifier) -> ProbeReport | None:
    """`run_probes`, raising a one-line `BundleError` when this device disagrees."""
    report = run_probes(bundle, identifier)
    if report is None:
        log.warning("bundle %s has no probe set: the on-device check is skipped", bundle.root)
        return None
    if (problem := report.problem) is not None:
        raise BundleError(f"{bundle.root}: on-device check failed: {problem}")
    log.info("on-device check passed: %s", report.summary())
    return report


def checked_identifier(cfg: BundleConfig) -> tuple[Bundle, Identifier]:
    """The configured bundle (signed, once a key is installed) and this device's Identifier for
    it, after the on-device check: how the daemon, --check-config and --snapshot all start."""
    bundle = load_bundle(cfg.path, installed_key(cfg.trusted_key))
    identifier = Identifier.from_bundle(bundle, cfg.threads)
    require_agreement(bundle, identifier)
    return bundle, identifier


def main(argv: list[str] | None = None) -> int:
    """`reid-check --device BUNDLE` (or `python -m edge.probes BUNDLE`): exit 0 when this
    device reproduces the bundle's probes, 1 when it does not. Needs only the edge install."""
    parser = argparse.ArgumentParser(prog="reid-check --device")
    parser.add_argument("bundle", help="bundle directory or .tar.gz")
    parser.add_argument("--trusted-key", help="also require the bundle signed for this key")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        key = args.trusted_key or installed_key(BundleConfig.trusted_key)
        bundle = load_bundle(args.bundle, key)
        report = run_probes(bundle, Identifier.from_bundle(bundle))
        if report is None:
            raise BundleError(f"{args.bundle}: no probe set (rebuild it with reid-convert)")
        if (problem := report.problem) is not None:
            sys.stderr.write(f"reid-check: {args.bundle}: on-device check failed: {problem}\n")
            return 1
        sys.stdout.write(f"device check ok: {args.bundle}: {report.summary()}\n")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
