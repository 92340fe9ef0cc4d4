"""Who is in these crops? The bundle's embedder and classifier behind one call.

`Identifier` is what both `reid-identify` and the daemon use, so a crop identified from the
command line gets exactly the answer the camera pipeline would give it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Collection, Sequence

import numpy as np

from edge.bundle import Bundle, load_bundle
from edge.cli import run_main, setup_logging
from edge.errors import BundleError, ImageError
from edge.tracking.identity import Naming, name_tracks
from edge.types import Prediction
from edge.vision.classify import Classifier
from edge.vision.colour import describe, descriptor_size
from edge.vision.embed import Embedder
from edge.vision.preprocess import read_rgb

log = logging.getLogger(__name__)


class Identifier:
    """Describes crops (int8 embedding and colour signature, edge.vision.colour), classifies single
    descriptors (None = unknown swimmer) and names tracks from their mean descriptors."""

    def __init__(
        self,
        embedder: Embedder,
        classifier: Classifier,
        colour_weight: float = 0.0,
        track_threshold: float = 0.0,
    ):
        size = descriptor_size(embedder.embedding_size, colour_weight)
        if classifier.gallery.shape[1] != size:
            raise BundleError(
                f"classifier expects {classifier.gallery.shape[1]}-d descriptors, the model and "
                f"colour_weight {colour_weight} give {size}-d"
            )
        self.embedder = embedder
        self.classifier = classifier
        self.colour_weight = colour_weight
        self.track_threshold = track_threshold
        self._scored: dict[bytes, np.ndarray] = {}  # a mean's bytes -> its similarities

    @classmethod
    def from_bundle(cls, bundle: Bundle, threads: int = 1) -> Identifier:
        """The bundle's model, classifier, colour weight and calibrated thresholds."""
        embedder = Embedder(bundle.model_path, bundle.input_height, bundle.input_width, threads)
        classifier = Classifier.load(bundle.classifier_path, bundle.unknown_threshold)
        return cls(embedder, classifier, bundle.colour_weight, bundle.track_threshold)

    def describe(self, crops: list[np.ndarray]) -> np.ndarray:
        """(n, d) unit descriptors of RGB uint8 crops (any size), in order."""
        pixels = self.embedder.pixels(crops)
        return describe(self.embedder.embed_pixels(pixels), pixels, self.colour_weight)

    def identify(self, crops: list[np.ndarray]) -> list[Prediction]:
        """One prediction per RGB uint8 crop (any size), in order."""
        if not crops:
            return []
        return list(self.classifier.predict(self.describe(crops)))

    def name_tracks(
        self,
        means: np.ndarray,
        holding: list[str | None],
        away: Collection[str] = (),
        home: Sequence[Collection[str]] = (),
    ) -> list[Naming]:
        """Live tracks' mean descriptors (whom each holds now, who is out of sight for a moment,
        whose lane each is in) -> their answers, each swimmer in one place at most
        (edge/tracking/identity.py)."""
        similarities = self._similarities(np.asarray(means, np.float32))
        classes = self.classifier.classes
        return name_tracks(similarities, classes, self.track_threshold, holding, away, home)

    def _similarities(self, means: np.ndarray) -> np.ndarray:
        """`Classifier.similarities` of the rows, those of the last call's rows remembered. A
        track's mean moves only when one of its crops is described, on the daemon's schedule
        some 5 of 24 tracks a frame on the club session, yet all were scored every frame
        against the gallery enrolled from the camera (7200 rows): 17.7 -> 12.8 ms a frame for
        the track stage there (scoring even a few means reads the whole gallery)."""
        keys = [row.tobytes() for row in means]
        new = [i for i, key in enumerate(keys) if key not in self._scored]
        scored = {key: self._scored[key] for key in keys if key in self._scored}
        if new:
            rows = self.classifier.similarities(means[new])
            scored.update(zip([keys[i] for i in new], rows, strict=True))
        self._scored = scored
        return np.array([scored[key] for key in keys]).reshape(len(keys), -1)


def _format(path: str, prediction: Prediction | None, error: str | None, as_json: bool) -> str:
    if as_json:
        if error is not None:
            return json.dumps({"path": path, "error": error})
        assert prediction is not None
        score = round(float(prediction.score), 4)
        return json.dumps({"path": path, "swimmer_id": prediction.swimmer_id, "score": score})
    if error is not None:
        return f"{path}\terror: {error}"
    assert prediction is not None
    who = prediction.swimmer_id if prediction.swimmer_id is not None else "unknown"
    return f"{path}\t{who}\t{prediction.score:.4f}"


def _identify_paths(args: argparse.Namespace) -> int:
    identifier = Identifier.from_bundle(load_bundle(args.bundle), threads=args.threads)
    crops: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    for path in args.paths:
        try:
            crops[path] = read_rgb(path)
        except ImageError as error:
            errors[path] = str(error)
    answers = dict(zip(crops, identifier.identify(list(crops.values())), strict=True))
    for path in args.paths:
        line = _format(path, answers.get(path), errors.get(path), args.json)
        sys.stdout.write(line + "\n")
    if errors:
        sys.stderr.write(f"reid-identify: {len(errors)} of {len(args.paths)} images failed\n")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    """`reid-identify BUNDLE PATH... [--json]`: one line per image; exit 1 if any image failed."""
    parser = argparse.ArgumentParser(prog="reid-identify", description=__doc__)
    parser.add_argument("bundle", help="bundle directory or .tar.gz")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="crop images")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    return run_main(lambda: _identify_paths(args))


if __name__ == "__main__":
    sys.exit(main())
