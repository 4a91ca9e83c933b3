"""Fixtures for the storage unit tests: a migrated SQLite database in tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccapp.clock import FakeClock
from ccapp.storage import Database, upgrade


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    """A migrated SQLite database (its folder created by the migration)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox_dir(tmp_path: Path) -> Path:
    return tmp_path / "outbox"
