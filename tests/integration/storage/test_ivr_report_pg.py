"""The IVR report queries on PostgreSQL give exactly what they give on SQLite (and by hand)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ccapp.ivr.report import to_dict
from ccapp.storage import Database, upgrade
from ccapp.storage.ivr_queries import ivr_report
from tests.unit.storage.ivr_scenario import END, EXPECTED, START, store_scenario, store_synthetic

pytestmark = pytest.mark.postgres


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    return Database(url)


async def test_the_scenario_gives_the_same_report_on_postgresql_and_sqlite(
    pg_db: Database, sqlite_db: Database, tmp_path: Path
) -> None:
    try:
        await store_scenario(pg_db, tmp_path / "pg-outbox")
        await store_scenario(sqlite_db, tmp_path / "sqlite-outbox")
        for tree in (None, "main", "after_hours", "nope"):
            for top in (1, 10):
                on_pg = to_dict(await ivr_report(pg_db, START, END, tree=tree, top=top))
                on_sqlite = to_dict(await ivr_report(sqlite_db, START, END, tree=tree, top=top))
                assert on_pg == on_sqlite, (tree, top)
        assert to_dict(await ivr_report(pg_db, START, END)) == EXPECTED
    finally:
        await sqlite_db.dispose()


@pytest.mark.slow
async def test_twenty_thousand_calls_on_postgresql(
    pg_db: Database, sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        start, end = await store_synthetic(pg_db, 20_000)
        async with pg_db.engine.begin() as conn:  # committed: statistics are transactional
            await conn.exec_driver_sql("ANALYZE")
        t0 = time.perf_counter()
        report = await ivr_report(pg_db, start, end)
        elapsed = time.perf_counter() - t0
        assert report.calls_started == report.trees[0].calls == 20_000
        await store_synthetic(sqlite_db, 20_000)
        assert to_dict(report) == to_dict(await ivr_report(sqlite_db, start, end))
    finally:
        await sqlite_db.dispose()
    with capsys.disabled():
        print(f"\nIVR report, 20,000 calls, PostgreSQL: {elapsed:.3f} s")
