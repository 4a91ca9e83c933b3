"""The roll-up read path: used only when it can give exactly the raw answer, and then equal to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from ccapp.kpi.definitions import Dimension, Interval, Thresholds
from ccapp.kpi.engine import build_report
from ccapp.storage import Database, upgrade
from ccapp.storage.kpi_rollup import rebuild_rollups
from ccapp.storage.models import Base
from tests.unit.kpi import golden
from tests.unit.kpi.golden_cases import D28, comparable
from tests.unit.kpi.golden_rollup import QUEUE_KPIS, ROLLUP_REQUESTS


async def _database(tmp_path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    return Database(url)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await _database(tmp_path)
    await golden.load(database)
    await rebuild_rollups(database, golden.THRESHOLDS)
    yield database
    await database.dispose()


@pytest.mark.parametrize("req", ROLLUP_REQUESTS, ids=range(len(ROLLUP_REQUESTS)))
async def test_a_roll_up_report_equals_the_raw_one(db: Database, req: golden.ReportRequest) -> None:
    rolled = await build_report(db, req)
    raw = await build_report(db, req, use_rollups=False)

    assert (rolled.source, raw.source) == ("rollup", "raw")
    assert comparable(rolled)[1:] == comparable(raw)[1:]
    assert rolled.rows


@pytest.mark.parametrize(
    "why",
    [
        "other thresholds",
        "start off a 15-minute slot",
        "end off a 15-minute slot",
        "grouped by agent",
        "filtered by skill",
        "a KPI the roll-up lacks",
        "a zone offset off 15 minutes",
        "roll-ups turned off",
    ],
)
async def test_the_raw_tables_serve_what_the_roll_up_cannot(db: Database, why: str) -> None:
    req = golden.request((Dimension.QUEUE,), Interval.DAY, kpis=QUEUE_KPIS)
    use = True
    if why == "other thresholds":
        req = replace(req, thresholds=Thresholds(30.0, 5.0, 7 * 86400.0))
    elif why == "start off a 15-minute slot":
        req = replace(req, start=req.start + timedelta(minutes=5))
    elif why == "end off a 15-minute slot":
        req = replace(req, end=req.end - timedelta(seconds=1))
    elif why == "grouped by agent":
        req = replace(req, dimensions=(Dimension.AGENT,))
    elif why == "filtered by skill":
        req = replace(req, where={"skill": "en"})
    elif why == "a KPI the roll-up lacks":
        req = replace(req, kpis=("offered", "transfer_rate"))
    elif why == "a zone offset off 15 minutes":  # Liberia was UTC-0:44:30 until 1972
        req = replace(
            req,
            zone="Africa/Monrovia",
            start=datetime(1970, 6, 1, tzinfo=UTC),
            end=datetime(1970, 6, 2, tzinfo=UTC),
        )
    else:
        use = False

    assert (await build_report(db, req, use_rollups=use)).source == "raw"


async def test_without_a_meta_row_the_roll_up_is_not_trusted(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    try:
        await golden.load(database)
        report = await build_report(database, ROLLUP_REQUESTS[0])
    finally:
        await database.dispose()

    assert report.source == "raw"
    assert report.total.measures["entries"] == 11


async def test_slots_are_summed_into_local_intervals(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    slots, meta = Base.metadata.tables["kpi_queue_slots"], Base.metadata.tables["kpi_rollup_meta"]
    t = golden.THRESHOLDS
    try:
        async with database.engine.begin() as conn:
            await conn.execute(
                insert(meta).values(
                    id=1,
                    sl_threshold_s=t.sl_threshold_s,
                    short_abandon_s=t.short_abandon_s,
                    repeat_window_s=t.repeat_window_s,
                )
            )
            for slot, entries, within in ((golden.utc(28, 22, 45), 4, 2), (golden.utc(28, 23), 6, 3)):
                await conn.execute(
                    insert(slots).values(queue="q", slot=slot, entries=entries, answered_within_t=within)
                )
        req = golden.request((Dimension.QUEUE,), Interval.DAY, kpis=("offered", "service_level"))
        report = await build_report(database, req)
    finally:
        await database.dispose()

    assert report.source == "rollup"
    # 22:45Z is Paris 23:45 on the 28th, 23:00Z is midnight of the 29th
    assert [(r.key, r.measures["entries"], r.kpis["service_level"]) for r in report.rows] == [
        ({"queue": "q", "interval": D28}, 4, 0.5),
        ({"queue": "q", "interval": "2026-03-29T00:00:00+01:00"}, 6, 0.5),
    ]
