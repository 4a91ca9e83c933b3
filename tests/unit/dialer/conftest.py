"""Fixtures for the dialer runtime's unit tests: a SQLite file for the bed, and a wall clock set to
Monday 2026-01-05 10:00 in New York (inside the default calling windows)."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccapp.dialer.fakes import ShiftedClock
from ccapp.storage import upgrade

#: Monday 10:00 America/New_York (EST, UTC-5)
MONDAY_10_NY = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session, copied for each test (migrating takes longer)."""
    path = tmp_path_factory.mktemp("dialer-template") / "dialer.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def db_url(tmp_path: Path, migrated_db: Path) -> str:
    """A migrated SQLite file of the test's own."""
    path = tmp_path / "dialer.db"
    shutil.copyfile(migrated_db, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock(MONDAY_10_NY)


@pytest.fixture
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A disposition is waited for 0.1 s past the wrap-up (not 2 minutes): the runtime has no
    setting for it, so the module constant is patched for the test only."""
    from ccapp.dialer import connect

    monkeypatch.setattr(connect, "_DISPOSITION_GRACE_S", 0.1)


@pytest.fixture
def short_amd_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """ccapp gives up on a line AMD keeps after 0.2 s (not 12 s); a module constant, patched here."""
    from ccapp.dialer import connect

    monkeypatch.setattr(connect, "AMD_TIMEOUT_S", 0.2)
