"""The ACD projection and queries on PostgreSQL give exactly what they give on SQLite (and by hand)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ccapp.kpi.summary import queue_summary
from ccapp.storage import (
    Database,
    expired_recordings,
    mark_recording_deleted,
    recording_row,
    upgrade,
)
from ccapp.storage.outbox import Record
from ccapp.storage.projection import write_batch
from tests.unit.storage.test_acd_queries import SALES_HOUR
from tests.unit.storage.test_acd_scenario import HOUR, T0, all_records, at, dump, interleaved

pytestmark = pytest.mark.postgres


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    database = Database(url)
    yield database
    await database.dispose()


async def store(db: Database, batch: list[Record]) -> int:
    async with db.engine.begin() as conn:
        return await write_batch(conn, batch)


async def test_the_acd_day_gives_the_same_rows_and_kpis_on_postgresql_and_sqlite(
    pg_db: Database, sqlite_db: Database
) -> None:
    records = all_records()
    assert await store(pg_db, records) == len(records)
    assert await store(sqlite_db, records) == len(records)

    assert await dump(pg_db) == await dump(sqlite_db)
    periods = [HOUR, (T0 - timedelta(days=1), T0), (T0, T0 + timedelta(days=2))]
    for queue in ("sales", "support", "nope"):
        for start, end in periods:
            for thresholds in ((20.0, 5.0), (21.0, 2.0)):
                on_pg = await queue_summary(pg_db, queue, start, end, *thresholds)
                on_sqlite = await queue_summary(sqlite_db, queue, start, end, *thresholds)
                assert on_pg == on_sqlite, (queue, start, thresholds)
    assert await queue_summary(pg_db, "sales", *HOUR) == SALES_HOUR


async def test_replays_and_batch_splits_change_nothing_on_postgresql(
    pg_db: Database, sqlite_db: Database
) -> None:
    records = all_records()
    await store(sqlite_db, records)
    expected = await dump(sqlite_db)

    ordered = interleaved()
    for i in range(0, len(ordered), 5):
        await store(pg_db, ordered[i : i + 5])
        await store(pg_db, ordered[max(0, i - 8) : i + 2])
    assert await store(pg_db, records) == 0
    assert await dump(pg_db) == expected


async def test_recording_retention_on_postgresql(pg_db: Database) -> None:
    await store(pg_db, all_records())

    assert [r["recording_id"] for r in await expired_recordings(pg_db, at(600))] == ["r1", "r2"]
    assert await mark_recording_deleted(pg_db, "r1", at(3600)) is True
    assert await mark_recording_deleted(pg_db, "r1", at(7200)) is False
    row = await recording_row(pg_db, "r1")
    assert row is not None
    assert row["deleted_at"] == at(3600)
    assert row["paused_spans"] == [[30.0, 38.0]]
    assert [r["recording_id"] for r in await expired_recordings(pg_db, at(600))] == ["r2"]
