"""Session drift benchmark: does identity hold on frames far from the enrollment frames?

The protocol is train/drift.py's: per swimmer, the CNN, the SVM and the gallery are fitted on
the earliest half of its frames; after a 10-frame gap the rest is cut into three bins, nearest
first. The thresholds are calibrated as reid-train calibrates a bundle's (train.openset) on the
middle bin; every design choice is made on the farthest. Everything after training runs the
device's code on the int8 model: edge.vision.embed (crops cut down to the swimmer),
edge.vision.colour, edge.vision.classify and edge.tracking.identity.

Per bin, with every swimmer known:
- crops: closed-set accuracy (the SVM's answer), right with "unknown" counted wrong, answered
  unknown (false unknowns);
- tracks (every run of 15 consecutive crops, judged by its mean descriptor): the same, for a
  track alone, and in a session where every swimmer swims at once (one swimmer, one place).
With each swimmer left out of everything in turn (the CNN never saw it, the gallery lacks it):
how often its crops and its tracks are answered unknown, alone, beside all the others, and
beside a random half of them; and how the known swimmers' tracks fare beside it.
Figures are given for every colour weight of `WEIGHTS` and track-threshold quantile of
`TRACK_QUANTILES`, from the same embeddings; `SHIPPED` names the defaults.

    python bench/drift.py [--quick] [--data DIR] [--out JSON] [--folds N] [--epochs N]
                          [--dump DIR | --replay DIR] [--whole-crops]

`--whole-crops --folds 0 --out bench/results/drift_whole_crops.json` measures the design before
(a CNN and a colour histogram of the whole crop) on the same protocol.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from folds import fold_parser, start
from machine import cpu_name

from convert.quantize import convert, representative_indices
from edge.tracking.identity import name_tracks
from edge.vision.classify import Classifier
from edge.vision.colour import describe
from edge.vision.embed import Embedder
from train.data import list_samples, load_images
from train.descriptor import DEFAULT_COLOUR_WEIGHT, flatten_water, histogram_features
from train.drift import (
    DRIFT_BINS,
    FIT_FRACTION,
    TRACK_LENGTH,
    drift_split,
    rate,
    track_means,
    windows,
)
from train.fit import Recipe, train_embedder
from train.openset import TRACK_QUANTILE, calibrate
from train.svm import export_classifier, fit_classifier

log = logging.getLogger("bench.drift")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "bench" / "results" / "drift.json"
WEIGHTS = (0.0, 0.5, 0.6, 0.7, 0.75, 0.9)
TRACK_QUANTILES = (0.0, 0.005, 0.01, 0.02)  # of the middle bin's genuine track scores
SHIPPED = f"w {DEFAULT_COLOUR_WEIGHT} q {TRACK_QUANTILE}"
CALIBRATION_BIN = -2  # the middle bin: held out like reid-train's later frames, not the farthest
SESSIONS = 200  # random sessions per bin: one track per swimmer, drawn from the bin


def load(data: Path, recipe: Recipe, whole_crops: bool = False) -> dict:
    """Model inputs (cut down to the swimmer, unless `whole_crops`: the design before it),
    labels, and the rows of fit and of each bin."""
    split = drift_split(list_samples(data))
    samples = split.fit + [s for part in split.bins for s in part]
    images, kept, _ = load_images(samples, recipe.height, recipe.width)
    if len(kept) != len(samples):
        raise SystemExit("bench/drift.py needs every crop readable")
    sizes = np.cumsum([len(split.fit)] + [len(part) for part in split.bins])
    rows = np.split(np.arange(len(samples)), sizes[:-1])
    return {
        "pixels": images if whole_crops else flatten_water(images),
        "whole_crops": whole_crops,
        "labels": np.asarray([s.identity for s in samples]),
        "fit": rows[0],
        "bins": rows[1:],
    }


def int8_embeddings(data: dict, train_rows: np.ndarray, recipe: Recipe, tmp: Path) -> dict:
    """Train the CNN on `train_rows`, quantize it as reid-convert does, embed every crop with
    the device's Embedder."""
    x, y = data["pixels"], data["labels"]
    start = time.perf_counter()
    model, history = train_embedder(x[train_rows], list(y[train_rows]), recipe, progress=False)
    seconds = time.perf_counter() - start
    calibration = representative_indices(list(y[train_rows]))
    path = tmp / "model_int8.tflite"
    path.write_bytes(convert(model, x[train_rows][calibration]).int8)
    embedder = Embedder(path, recipe.height, recipe.width)
    info = {"train_seconds": round(seconds, 1), "final_loss": round(history["loss"][-1], 4)}
    return {"embeddings": embedder.embed_pixels(x), **info}


def embeddings_for(name: str, data, rows, recipe, args, tmp: Path) -> dict:
    """`int8_embeddings`, saved to --dump DIR/NAME.npz, or read back from --replay DIR."""
    if args.replay:
        with np.load(args.replay / f"{name}.npz") as saved:
            info = {key: float(saved[key]) for key in saved.files if key != "embeddings"}
            return {"embeddings": saved["embeddings"], "replayed_from": str(args.replay), **info}
    result = int8_embeddings(data, rows, recipe, tmp)
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        np.savez(args.dump / f"{name}.npz", **result)  # embeddings, training seconds and loss
    return result


def identifier(data: dict, descriptors: np.ndarray, known: np.ndarray, quantile: float) -> tuple:
    """The SVM and gallery on the known swimmers' fit rows, thresholds from their middle bin
    (the track threshold at `quantile` of its genuine track scores)."""
    y = data["labels"]
    fit = data["fit"][known[data["fit"]]]
    held = data["bins"][CALIBRATION_BIN]
    held = held[known[held]]
    gallery, labels = descriptors[fit], list(y[fit])
    thresholds = calibrate(
        gallery, labels, descriptors[held], list(y[held]), track_quantile=quantile
    )
    arrays = export_classifier(fit_classifier(gallery, labels), gallery, labels)
    return Classifier.from_arrays(arrays, thresholds.crop), thresholds


def answers_alone(sims: np.ndarray, classes: tuple[str, ...], threshold: float) -> np.ndarray:
    """Each track named on its own ("None" = unknown): no other track to share swimmers with."""
    return np.asarray(
        [str(name_tracks(row[None], classes, threshold)[0].swimmer_id) for row in sims]
    )


def sessions(sims, classes, owners, threshold, rng, others, size, always=()) -> list[tuple]:
    """(swimmer, answer) for every swimmer of `SESSIONS` random sessions: `always` and `size`
    swimmers drawn from `others` in the water at once, one track each, drawn from the bin's
    tracks (`owners`: whose), all named together (edge.tracking.identity.name_tracks)."""
    out = []
    for _ in range(SESSIONS):
        swimmers = [*always, *rng.choice(others, size=size, replace=False)]
        picks = [rng.choice(np.flatnonzero(owners == s)) for s in swimmers]
        namings = name_tracks(sims[picks], classes, threshold)
        out += [(s, str(n.swimmer_id)) for s, n in zip(swimmers, namings, strict=True)]
    return out


def tracks_of(descriptors: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bin's tracks (train.drift.windows): their mean descriptors and their swimmers."""
    tracks = windows(labels, TRACK_LENGTH)
    return track_means(descriptors, tracks), labels[[t[0] for t in tracks]]


def known_bin(clf, thresholds, descriptors, labels, rng) -> dict:
    """Every swimmer known: crop, track and session figures for one bin."""
    crops = clf.predict(descriptors)
    answers = np.asarray([str(p.swimmer_id) for p in crops])
    means, owners = tracks_of(descriptors, labels)
    sims = clf.similarities(means)
    alone = answers_alone(sims, clf.classes, thresholds.track)
    everyone = sorted(set(labels))
    session = sessions(sims, clf.classes, owners, thresholds.track, rng, everyone, len(everyone))
    return {
        "crops": len(labels),
        "crop_closed_set": rate(np.asarray([p.candidate for p in crops]) == labels),
        "crop_right": rate(answers == labels),
        "crop_unknown": rate(answers == "None"),
        "tracks": len(owners),
        "track_closed_set": rate(np.asarray(clf.classes)[sims.argmax(axis=1)] == owners),
        "track_right": rate(alone == owners),
        "track_unknown": rate(alone == "None"),
        "session_track_right": rate([s == a for s, a in session]),
    }


def stranger_bin(clf, thresholds, descriptors, labels, stranger, rng) -> dict:
    """One swimmer in no bundle: how often it is answered unknown, and how the others fare."""
    crops = clf.predict(descriptors[labels == stranger])
    means, owners = tracks_of(descriptors, labels)
    sims = clf.similarities(means)
    alone = answers_alone(sims[owners == stranger], clf.classes, thresholds.track)
    known = sorted(set(labels) - {stranger})
    result = {
        "crop_unknown": rate([p.swimmer_id is None for p in crops]),
        "track_unknown_alone": rate(alone == "None"),
    }
    for name, size in (("all", len(known)), ("half", len(known) // 2)):
        answers = sessions(
            sims, clf.classes, owners, thresholds.track, rng, known, size, [stranger]
        )
        result[f"track_unknown_beside_{name}"] = rate(
            [a == "None" for s, a in answers if s == stranger]
        )
        result[f"known_track_right_beside_{name}"] = rate(
            [s == a for s, a in answers if s != stranger]
        )
    return result


def describe_as_shipped(embeddings: np.ndarray, data: dict, weight: float) -> np.ndarray:
    """edge.vision.colour.describe, or for --whole-crops the descriptor before the swimmer-only one:
    the embedding beside a histogram of the whole crop."""
    if not data["whole_crops"] or weight == 0:
        return describe(embeddings, data["pixels"], weight)
    shares = np.sqrt(np.float32([1 - weight, weight]))
    return np.hstack([shares[0] * embeddings, shares[1] * histogram_features(data["pixels"])])


def evaluate(data: dict, embeddings: np.ndarray, stranger: str | None, seed: int) -> dict:
    """Per choice of colour weight and track quantile, per bin: `known_bin` (no stranger) or
    `stranger_bin`."""
    y = data["labels"]
    known = y != stranger
    out = {}
    for weight in WEIGHTS:
        descriptors = describe_as_shipped(embeddings, data, weight)
        for quantile in TRACK_QUANTILES:
            clf, thresholds = identifier(data, descriptors, known, quantile)
            rng = np.random.default_rng(seed)
            per_bin = [
                stranger_bin(clf, thresholds, descriptors[rows], y[rows], stranger, rng)
                if stranger
                else known_bin(clf, thresholds, descriptors[rows], y[rows], rng)
                for rows in data["bins"]
            ]
            out[f"w {weight} q {quantile}"] = {
                "thresholds": {
                    "crop": round(thresholds.crop, 4),
                    "track": round(thresholds.track, 4),
                },
                "bins": per_bin,
            }
    return out


def far_summary(known: dict, folds: list[dict]) -> dict:
    """The farthest bin for each choice: the figures the choices were made on."""
    summary = {}
    for choice in known:
        far = dict(known[choice]["bins"][-1])
        if folds:
            stranger = [f["choices"][choice]["bins"][-1] for f in folds]
            for key in stranger[0]:
                far[f"stranger_{key}"] = round(float(np.mean([s[key] for s in stranger])), 4)
                far[f"stranger_{key}_worst"] = min(s[key] for s in stranger)
        summary[choice] = far
    return summary


def plot(known: dict, folds: list[dict], path: Path) -> None:
    """Figures against the distance from the enrollment frames, at the shipped choice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = known[SHIPPED]["bins"]
    x = np.arange(1, len(bins) + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (
        ("crop_closed_set", "crops, closed set"),
        ("crop_right", "crops right (unknown = wrong)"),
        ("track_right", "tracks right, alone"),
        ("session_track_right", "tracks right, all swimmers in the water"),
        ("crop_unknown", "known crops answered unknown"),
    ):
        ax.plot(x, [b[key] for b in bins], marker="o", label=label)
    if folds:
        stranger = [
            np.mean([f["choices"][SHIPPED]["bins"][k]["track_unknown_beside_all"] for f in folds])
            for k in range(len(bins))
        ]
        ax.plot(
            x,
            stranger,
            marker="s",
            linestyle="--",
            label="a stranger's tracks unknown, beside the others",
        )
    ax.set_xticks(x, [f"bin {k}" + (" (far)" if k == len(bins) else "") for k in x])
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share")
    ax.set_title(f"Later and later frames after enrollment ({SHIPPED})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = fold_parser(__doc__.split("\n")[0], DEFAULT_OUT)
    parser.add_argument(
        "--whole-crops",
        action="store_true",
        help="the design before: the CNN and the colour histogram see whole crops",
    )
    args = parser.parse_args()
    recipe = start(args)
    data = load(args.data, recipe, args.whole_crops)
    swimmers = sorted(set(data["labels"]))
    result = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_name(),
        "data": str(args.data),
        "protocol": {
            "fit": f"each swimmer's earliest {FIT_FRACTION:.0%} of frames (CNN, SVM, gallery)",
            "bins": f"the rest after a 10-frame gap, in {DRIFT_BINS} bins, nearest first",
            "calibration": "thresholds as reid-train sets them, on the middle bin",
            "track": f"every run of {TRACK_LENGTH} consecutive crops, by its mean descriptor",
            "sessions": f"{SESSIONS} random sessions per bin, one track per swimmer present",
            "embeddings": "int8 model through edge.vision.embed (crops cut down to the swimmer)",
        },
        "bin_crops": [len(rows) for rows in data["bins"]],
        "recipe": recipe.to_dict(),
        "quick": args.quick,
        "whole_crops": args.whole_crops,
        "shipped": SHIPPED,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    folds: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        model = embeddings_for("known", data, data["fit"], recipe, args, Path(tmp))
        known = evaluate(data, model.pop("embeddings"), None, recipe.seed)
        result |= {"model": model, "known": known}
        limit = args.folds if args.folds is not None else 2 if args.quick else len(swimmers)
        for stranger in swimmers[:limit]:
            rows = data["fit"][data["labels"][data["fit"]] != stranger]
            fold = embeddings_for(f"fold_{stranger}", data, rows, recipe, args, Path(tmp))
            choices = evaluate(data, fold.pop("embeddings"), stranger, recipe.seed)
            folds.append({"left_out": stranger, **fold, "choices": choices})
            log.info("fold %s done: %s", stranger, choices[SHIPPED]["bins"][-1])
            result |= {"folds": folds, "far": far_summary(known, folds)}
            args.out.write_text(json.dumps(result, indent=2) + "\n")  # partial results survive
        result["far"] = far_summary(known, folds)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(known, folds, args.out.with_suffix(".png"))
    print(json.dumps(result["far"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
