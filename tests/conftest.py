"""Shared fixtures. Real crops come from ../shared/data/swimmers when it is there."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "swimmers"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real swimmer crops; tests that need them skip (saying why) where they are absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real swimmer crops not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic crop set (train/synth.py): 5 identities x 40 frames, seed 0."""
    from train.synth import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("synthetic"), identities=5, frames=40, seed=0)
