"""System packages the tests use for real: Mosquitto, mosquitto_passwd, openssl, systemd-analyze,
chromium (the contact sheet in a real browser).

Where one is missing, a test skips and says why, so the suite still runs on a laptop. `.ci/run`
installs them and sets REID_REQUIRE_SYSTEM=1: there a missing package fails the test instead,
so CI cannot go green on tests that never ran.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRED = os.environ.get("REID_REQUIRE_SYSTEM") == "1"


def missing(why: str, required: bool = REQUIRED) -> NoReturn:
    """Skip the test for `why`, or fail it where the system parts are required."""
    if required:
        pytest.fail(f"{why}; .ci/run requires it (REID_REQUIRE_SYSTEM=1)")
    pytest.skip(why)
