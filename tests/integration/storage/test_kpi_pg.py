"""The golden KPI reports on PostgreSQL: the same hand-computed rows, and reports identical to SQLite's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccapp.kpi.engine import build_report, handle_time_histogram
from ccapp.storage import Database, upgrade
from ccapp.storage.kpi_rollup import rebuild_rollups
from tests.unit.kpi import golden
from tests.unit.kpi.golden_cases import check, comparable
from tests.unit.kpi.golden_intervals import ALL_CASES
from tests.unit.kpi.golden_rollup import ROLLUP_REQUESTS

pytestmark = pytest.mark.postgres


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    database = Database(url)
    await golden.load(database)
    yield database
    await database.dispose()


async def test_golden_reports_on_postgresql_match_by_hand_and_sqlite(
    pg_db: Database, sqlite_db: Database
) -> None:
    await golden.load(pg_db)

    for case in ALL_CASES:
        pg = await build_report(pg_db, case.request, now=case.now)
        lite = await build_report(sqlite_db, case.request, now=case.now)
        check(pg, case)
        assert comparable(pg) == comparable(lite), case.name


async def test_the_histogram_on_postgresql_matches_sqlite(pg_db: Database, sqlite_db: Database) -> None:
    await golden.load(pg_db)
    edges = [0, 60, 120, 180]

    pg = await handle_time_histogram(pg_db, golden.request(), edges)

    assert pg == await handle_time_histogram(sqlite_db, golden.request(), edges)
    assert pg == [(0.0, 60.0, 1), (60.0, 120.0, 2), (120.0, 180.0, 1), (180.0, None, 1)]


async def test_roll_up_reports_on_postgresql_equal_raw_ones(pg_db: Database, sqlite_db: Database) -> None:
    await golden.load(pg_db)
    await rebuild_rollups(pg_db, golden.THRESHOLDS)
    await rebuild_rollups(sqlite_db, golden.THRESHOLDS)

    for req in ROLLUP_REQUESTS:
        rolled = await build_report(pg_db, req)
        raw = await build_report(pg_db, req, use_rollups=False)
        assert rolled.source == "rollup"
        assert comparable(rolled)[1:] == comparable(raw)[1:], req
        assert comparable(rolled) == comparable(await build_report(sqlite_db, req)), req
