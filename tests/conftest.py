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
