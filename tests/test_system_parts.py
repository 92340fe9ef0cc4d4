"""A missing system package skips a test on a laptop and fails it in CI (.ci/run)."""

from __future__ import annotations

import pytest
from system_parts import missing


def test_a_missing_package_skips_where_it_is_not_required() -> None:
    with pytest.raises(pytest.skip.Exception, match="mosquitto is not installed"):
        missing("mosquitto is not installed", required=False)


def test_a_missing_package_fails_where_ci_requires_it() -> None:
    with pytest.raises(
        pytest.fail.Exception, match=r"openssl .*requires it \(REID_REQUIRE_SYSTEM=1\)"
    ):
        missing("openssl is not installed", required=True)
