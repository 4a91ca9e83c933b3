"""Migrations, the models they must match, and UTC times on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from ccapp.errors import StorageError
from ccapp.storage import Base, CallRow, Database, current_revision, migrations_dir, upgrade
from ccapp.storage.db import sqlite_path


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_upgrade_creates_the_folder_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'ccapp.db'}"
    assert await current_revision(url) is None
    await upgrade(url)
    await upgrade(url)
    assert (tmp_path / "a" / "b" / "ccapp.db").is_file()
    assert await current_revision(url) == "0004"


async def test_upgrade_of_an_unreachable_database_raises_storage_error() -> None:
    with pytest.raises(StorageError, match="upgrade failed"):
        await upgrade("postgresql+asyncpg://nobody@127.0.0.1:1/none")


def test_migrations_are_found_beside_the_package() -> None:
    assert (migrations_dir() / "versions" / "0001_initial.py").is_file()


def test_migrations_dir_can_be_overridden_and_says_what_it_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "env.py").write_text("")
    monkeypatch.setenv("CCAPP_MIGRATIONS_DIR", str(tmp_path))
    assert migrations_dir() == tmp_path


def test_sqlite_path_ignores_memory_and_other_backends(tmp_path: Path) -> None:
    assert sqlite_path(f"sqlite+aiosqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_path("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_path("postgresql+asyncpg://u@h/db") is None


async def test_times_read_back_as_aware_utc(db: Database) -> None:
    paris = timezone(timedelta(hours=1))
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(CallRow).values(call_id="c1", started_at=datetime(2026, 1, 5, 10, 0, tzinfo=paris))
        )
        await conn.execute(insert(CallRow).values(call_id="c2", started_at=datetime(2026, 1, 5, 9, 30)))
        rows = dict((await conn.execute(select(CallRow.call_id, CallRow.started_at))).all())
    assert rows["c1"] == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert rows["c1"].utcoffset() == timedelta(0)
    assert rows["c2"] == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(db: Database) -> None:
    async with db.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000


async def test_ping_tells_up_from_down(db: Database, tmp_path: Path) -> None:
    assert await db.ping() is True
    down = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    try:
        assert await down.ping() is False
    finally:
        await down.dispose()
