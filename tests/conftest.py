"""Shared fixtures: the real Asterisk test bed."""

from __future__ import annotations

import os

import pytest

from tests.support import testbed


@pytest.fixture(scope="session")
def asterisk() -> None:
    """A running Asterisk from scripts/asterisk-sandbox (started if needed).

    Skips only where the test bed cannot exist (not root) and CCAPP_REQUIRE_ASTERISK is unset;
    scripts/test sets it, so in CI a missing Asterisk fails instead of skipping.
    """
    required = os.environ.get("CCAPP_REQUIRE_ASTERISK") == "1"
    if os.geteuid() != 0 and not required:
        pytest.skip("the Asterisk test bed needs root (set CCAPP_REQUIRE_ASTERISK=1 to require it)")
    result = testbed.sandbox("start", check=False)
    if result.returncode != 0:
        message = f"asterisk test bed did not start: {result.stderr[-2000:]}"
        if required:
            pytest.fail(message)
        pytest.skip(message)
