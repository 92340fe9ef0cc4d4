"""`reid-enroll BUNDLE --data DIR --out BUNDLE2`: add or replace swimmers without retraining.

The crops in DIR/<swimmer id>/ are described by the bundle's own int8 model and colour weight
through the device's code (`edge.vision.identify.Identifier`), so the gallery holds exactly what the
Pi will compute. Those
identities replace any of the same id in the gallery, the SVM is refitted on the whole gallery
(same kernel, default C: the bundle does not record C) and the open-set thresholds
recalibrated for them. A new bundle is written; the input bundle is only read.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from convert.bundle_writer import BundleContents, archive_path, update_manifest, write_bundle
from convert.names import identity_of, read_names
from convert.probes import make_probes
from edge.bundle import Bundle, load_bundle
from edge.cli import run_main, setup_logging
from edge.enrolment.track_crops import farthest_points
from edge.errors import BundleError, ImageError, ReidError
from edge.probes import PROBES
from edge.signing import load_private_key
from edge.vision.classify import Classifier
from edge.vision.embed import Embedder
from edge.vision.identify import Identifier
from edge.vision.preprocess import read_rgb
from train.data import list_samples
from train.errors import TrainError
from train.openset import Thresholds, enrollment_thresholds
from train.svm import export_classifier, fit_classifier, load_classifier, save_classifier

log = logging.getLogger(__name__)

# Recalibrating the threshold scores an identity's last 20 % of crops against its earlier ones
# (train.openset.tail_scores); below 5 crops that is one crop against one, which says nothing.
MIN_ENROLL_CROPS = 5
# A swimmer's gallery rows on the device: every live track is scored against every row on each
# frame it is named (Classifier.similarities), so a squad collected from the camera (up to 200
# crops a track, several tracks a swimmer: 11,500 rows for 24 swimmers) costs the device more
# than the embedding does. The most varied rows are kept (farthest-point). The thresholds are
# still calibrated on runs of every crop, as the daemon's windows are consecutive crops
# (edge/enrolment/track_crops.py: a thinned set calibrates too high). On the club session's
# first 1000 frames (bench/session.py --train), swimmer-frames named right with 120, 200, 280,
# 400 rows and all: 68.0, 68.2, 73.4, 73.1, 73.0 % (a track or two named otherwise moves it 5
# points).
MAX_GALLERY_ROWS = 300


@dataclass(frozen=True)
class Enrollment:
    """Embeddings of the crops to enroll, in DIR order (identity, then frame)."""

    embeddings: np.ndarray
    labels: list[str]
    skipped: list[str]


def refit(
    arrays: dict[str, np.ndarray],
    embeddings: np.ndarray,
    labels: list[str],
    thresholds: Thresholds,
) -> tuple[dict[str, np.ndarray], Thresholds]:
    """The classifier arrays with `labels`' identities replaced or added, and the thresholds
    recalibrated for them (train.openset.enrollment_thresholds)."""
    new_ids = set(labels)
    old_labels = np.asarray(arrays["gallery_labels"]).astype(str)
    keep = ~np.isin(old_labels, list(new_ids))
    gallery = np.concatenate([np.asarray(arrays["gallery"])[keep], embeddings]).astype(np.float32)
    gallery_labels = [*old_labels[keep].tolist(), *labels]
    held = np.concatenate([np.ones(int(keep.sum()), bool), varied_rows(embeddings, labels)])
    try:
        svc = fit_classifier(gallery, gallery_labels, kernel=str(arrays["kernel"]))
        thresholds = enrollment_thresholds(thresholds, gallery, gallery_labels, sorted(new_ids),
                                           held)  # fmt: skip
    except TrainError as error:
        raise ReidError(f"cannot refit the classifier: {error}") from error
    held_labels = [label for label, kept in zip(gallery_labels, held, strict=True) if kept]
    return export_classifier(svc, gallery[held], held_labels), thresholds


def varied_rows(embeddings: np.ndarray, labels: list[str]) -> np.ndarray:
    """A mask of at most MAX_GALLERY_ROWS rows per swimmer, the most varied of its rows."""
    held, names = np.zeros(len(labels), bool), np.asarray(labels)
    for swimmer in set(labels):
        rows = np.flatnonzero(names == swimmer)
        held[rows[farthest_points(embeddings[rows], MAX_GALLERY_ROWS)]] = True
    return held


def read_enrollment(
    data: Path, identifier: Identifier, names: dict[str, str | None] | None = None
) -> Enrollment:
    """Describe DIR's crops as the device will, each folder as the swimmer `names` (names.toml)
    or its own name says; unreadable files are skipped, but every swimmer needs enough crops."""
    try:
        samples = list_samples(data)
    except TrainError as error:
        raise ReidError(str(error)) from error
    swimmers = {identity_of(s.identity, names) for s in samples}
    for folder in sorted({s.identity for s in samples if identity_of(s.identity, names) is None}):
        log.warning("%s: not enrolled (skipped or not named in names.toml)", data / folder)
    crops, labels, skipped = [], [], []
    for sample in samples:
        identity = identity_of(sample.identity, names)
        if identity is None:
            continue
        try:
            crops.append(read_rgb(sample.path))
            labels.append(identity)
        except ImageError as error:
            log.warning("skipping %s", error)
            skipped.append(str(sample.path))
    if not swimmers - {None}:
        raise ReidError(f"{data}: no folder names a swimmer to enrol")
    for identity in sorted(swimmers - {None}):
        count = labels.count(identity)
        if count < MIN_ENROLL_CROPS:
            raise ReidError(
                f"{data}: {count} readable crop(s) of {identity}; enrolling a swimmer needs at "
                f"least {MIN_ENROLL_CROPS}"
            )
    return Enrollment(identifier.describe(crops), labels, skipped)


def _classifier_arrays(bundle: Bundle) -> dict[str, np.ndarray]:
    try:
        return load_classifier(bundle.classifier_path)
    except TrainError as error:
        raise BundleError(str(error)) from error


def _check_out(bundle_path: Path, out: Path) -> None:
    """The input bundle is never modified: refuse an --out that would overwrite it."""
    src, dst = bundle_path.resolve(), out.resolve()
    if src in (dst, archive_path(dst)) or dst in src.parents or src in dst.parents:
        raise ReidError(f"--out {out} would overwrite the input bundle {bundle_path}")


def enroll(
    bundle_path: Path,
    data: Path,
    out: Path,
    sign_key: Ed25519PrivateKey | None = None,
    names: Path | None = None,
) -> str:
    """Write the enrolled bundle to `out` (signed when a key is given); returns a summary line,
    then a line per swimmer: its crops and the enrolled swimmer it is most like."""
    _check_out(bundle_path, out)
    bundle = load_bundle(bundle_path)
    arrays = _classifier_arrays(bundle)
    embedder = Embedder(bundle.model_path, bundle.input_height, bundle.input_width)
    classifier = Classifier.from_arrays(arrays, bundle.unknown_threshold)
    named = read_names(names, data) if names is not None else None
    # The Identifier refuses a gallery of other descriptors than the model and weight give.
    identifier = Identifier(embedder, classifier, bundle.colour_weight)
    enrollment = read_enrollment(data, identifier, named)
    before = Thresholds(bundle.unknown_threshold, bundle.track_threshold, bundle.calibration)
    new_arrays, thresholds = refit(arrays, enrollment.embeddings, enrollment.labels, before)
    added = sorted(set(enrollment.labels))
    identities = dict(bundle.identities)
    identities.update({i: identities.get(i, f"Swimmer {i}") for i in added})
    metrics = dict(bundle.metrics)
    metrics["enrollment"] = {
        "data": str(data),
        "identities": added,
        "crops": len(enrollment.labels),
    }
    try:
        with tempfile.TemporaryDirectory(prefix="reid-enroll-") as tmp:
            npz = Path(tmp) / "classifier.npz"
            save_classifier(npz, new_arrays)
            source = f"{bundle.source_run or bundle_path} + enroll {data}"
            contents = _contents(bundle, npz, identities, thresholds, metrics, source)
            write_bundle(contents, out, sign_key)
        carry_probes(bundle, out, sign_key)
    except OSError as error:  # a full disk, a read-only folder: the input is only ever read
        why = error.strerror or str(error)
        raise ReidError(f"cannot write {out}: {why} ({bundle_path} is untouched)") from None
    summary = (
        f"enrolled {', '.join(added)} from {len(enrollment.labels)} crops "
        f"({len(enrollment.skipped)} unreadable skipped); {len(identities)} identities, "
        f"thresholds crop {thresholds.crop:.4f}, track {thresholds.track:.4f} -> {out}"
    )
    return "\n".join([summary, *likeness(classifier, enrollment, bundle.unknown_threshold)])


def likeness(classifier: Classifier, enrollment: Enrollment, threshold: float) -> list[str]:
    """Per enrolled swimmer: its crops, and the swimmer already in the bundle its crops score
    highest against on average; a warning when that is above the crop threshold (the two
    will be hard to tell apart, or the folder holds the other swimmer's crops)."""
    labels = np.asarray(enrollment.labels)
    similarities = classifier.similarities(enrollment.embeddings)
    lines = []
    for swimmer in sorted(set(enrollment.labels)):
        means = similarities[labels == swimmer].mean(axis=0)
        others = [i for i, c in enumerate(classifier.classes) if c != swimmer]
        nearest = max(others, key=lambda i: means[i])
        line = (f"{swimmer}: {int(np.sum(labels == swimmer))} crops; most like "
                f"{classifier.classes[nearest]} (mean score {means[nearest]:.3f})")  # fmt: skip
        if means[nearest] >= threshold:
            line += f": WARNING, above the crop threshold {threshold:.3f}, hard to tell apart"
        lines.append(line)
    return lines


def carry_probes(bundle: Bundle, out: Path, sign_key: Ed25519PrivateKey | None) -> None:
    """The input bundle's probe crops, answered again by the new gallery and thresholds (the
    model, so the embeddings, are unchanged), into the enrolled bundle."""
    if not bundle.probes:
        return
    with np.load(bundle.root / bundle.probes["file"], allow_pickle=False) as npz:
        images, labels = list(npz["images"]), [str(label) for label in npz["labels"]]
    probes, spec = make_probes(load_bundle(out), images, labels)
    update_manifest(out, {"probes": spec}, {PROBES: probes}, sign_key)


def _contents(
    bundle: Bundle,
    npz: Path,
    identities: dict[str, str],
    thresholds: Thresholds,
    metrics: dict,
    source: str,
) -> BundleContents:
    return BundleContents(
        int8_model=bundle.model_path.read_bytes(),
        float_model=bundle.float_model_path.read_bytes(),
        classifier=npz,
        height=bundle.input_height,
        width=bundle.input_width,
        embedding_size=bundle.embedding_size,
        colour_weight=bundle.colour_weight,
        identities=dict(sorted(identities.items())),
        unknown_threshold=thresholds.crop,
        track_threshold=thresholds.track,
        calibration=thresholds.calibration,
        source_run=source,
        metrics=metrics,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reid-enroll", description=__doc__.split("\n")[0])
    parser.add_argument("bundle", type=Path, help="bundle directory or .tar.gz (only read)")
    parser.add_argument("--data", type=Path, required=True, help="DIR/<swimmer id>/*.jpg")
    parser.add_argument("--out", type=Path, required=True, help="the new bundle directory")
    parser.add_argument("--sign", type=Path, metavar="KEY", help="Ed25519 private key (PEM)")
    names = 'names.toml: track_0007 = "anna" (or "skip") for folders of DIR'
    parser.add_argument("--names", type=Path, metavar="TOML", help=names)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        key = load_private_key(args.sign) if args.sign else None
        sys.stdout.write(enroll(args.bundle, args.data, args.out, key, args.names) + "\n")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
