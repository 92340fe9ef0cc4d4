"""Reading one-folder-per-identity crop sets, and splitting them honestly.

Consecutive video frames are near-duplicates, so a random per-image split leaks the test set into
training. `time_split` keeps each identity's later frames for testing, with a gap of dropped
frames in between; `random_split` exists only to reproduce the reference notebook's protocol.
"""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from train.errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DEFAULT_TEST_FRACTION = 0.2
DEFAULT_GAP_FRAMES = 10
_NUMBER = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class Sample:
    """One crop on disk: its identity (the folder name) and its frame number (time order)."""

    path: Path
    identity: str
    frame: int


@dataclass(frozen=True)
class Split:
    train: list[Sample]
    test: list[Sample]


def list_samples(root: str | Path) -> list[Sample]:
    """Every crop under `root/<identity>/`, sorted by identity then frame number."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory of identity folders")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{root}: no identity folders (expected {root}/<swimmer id>/*.jpg)")
    samples = []
    for folder in folders:
        files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise DataError(f"{folder}: identity folder has no .jpg or .png crops")
        samples += sorted(
            (Sample(p, folder.name, _frame_number(p)) for p in files), key=lambda s: s.frame
        )
    return samples


def _frame_number(path: Path) -> int:
    match = _NUMBER.search(path.stem)
    return int(match.group(1)) if match else 0


def read_rgb(path: str | Path) -> np.ndarray | None:
    """Decode an image file to RGB uint8, or None when it is not a readable image."""
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize the way the device does (area interpolation), so training sees what the Pi sees."""
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def load_images(
    samples: list[Sample], height: int, width: int
) -> tuple[np.ndarray, list[Sample], list[Path]]:
    """Decode and resize `samples`; unreadable files are logged, skipped and returned."""
    images, kept, skipped = [], [], []
    for sample in samples:
        rgb = read_rgb(sample.path)
        if rgb is None:
            log.warning("skipping unreadable image %s", sample.path)
            skipped.append(sample.path)
            continue
        images.append(resize(rgb, height, width))
        kept.append(sample)
    missing = sorted({s.identity for s in samples} - {s.identity for s in kept})
    if missing:
        raise DataError(f"identity {missing[0]!r} has no readable crop")
    return np.stack(images) if images else np.zeros((0, height, width, 3), np.uint8), kept, skipped


def time_split(
    samples: list[Sample],
    test_fraction: float = DEFAULT_TEST_FRACTION,
    gap: int = DEFAULT_GAP_FRAMES,
) -> Split:
    """Per identity: the last `test_fraction` of frames test; `gap` frames before them dropped."""
    train, test = [], []
    for items in _by_identity(samples).values():
        items = sorted(items, key=lambda s: s.frame)
        n_test = max(1, round(len(items) * test_fraction))
        first_test = items[-n_test].frame
        test += items[-n_test:]
        train += [s for s in items[:-n_test] if s.frame < first_test - gap]
    return Split(train, test)


def random_split(
    samples: list[Sample], test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0
) -> Split:
    """The reference notebook's per-image random split. It leaks; use it only to compare."""
    shuffled = list(samples)
    random.Random(seed).shuffle(shuffled)
    n_test = round(len(shuffled) * test_fraction)
    return Split(shuffled[n_test:], shuffled[:n_test])


def _by_identity(samples: list[Sample]) -> dict[str, list[Sample]]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.identity].append(sample)
    return groups
