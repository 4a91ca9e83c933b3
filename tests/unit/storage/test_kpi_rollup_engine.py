"""Reports from the roll-up kept by upkeep equal reports from the raw rows (SQLite; PostgreSQL in
tests/integration/storage/test_kpi_rollup_pg.py)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from ccapp.kpi.definitions import DEFAULT_KPIS, Dimension, Interval, Report, ReportRequest, Thresholds
from ccapp.kpi.engine import build_report
from ccapp.storage import Database
from ccapp.storage.kpi_rollup import rebuild_rollups
from ccapp.storage.outbox import Record
from ccapp.storage.projection import write_batch
from tests.unit.storage.kpi_calls import T0, random_calls

T = Thresholds()
KPIS = (*DEFAULT_KPIS, "handled", "short_abandons", "callback_rate")


def requests() -> list[ReportRequest]:
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=25)
    by_queue = (Dimension.QUEUE,)
    return [
        ReportRequest(start, end, "UTC", by_queue, Interval.MIN15, KPIS, T),
        ReportRequest(start, end, "UTC", by_queue, Interval.DAY, KPIS, T),
        ReportRequest(start, end, "Europe/Berlin", by_queue, Interval.DAY, KPIS, T),
        ReportRequest(start, end, "UTC", (), None, KPIS, T),
    ]


def assert_same(rolled: Report, raw: Report) -> None:
    assert (rolled.source, raw.source) == ("rollup", "raw")
    assert [r.key for r in rolled.rows] == [r.key for r in raw.rows]
    for got, want in zip([*rolled.rows, rolled.total], [*raw.rows, raw.total], strict=True):
        for name in set(got.measures) | set(want.measures):
            assert got.measures.get(name, 0.0) == pytest.approx(want.measures.get(name, 0.0)), (got.key, name)
        for name, value in want.kpis.items():
            assert got.kpis[name] == pytest.approx(value), (got.key, name)


async def feed(db: Database, records: list[Record], rng: random.Random) -> None:
    """``records`` in random order and batch sizes, then a replay of some of them."""
    rng.shuffle(records)
    start = 0
    while start < len(records):
        size = rng.randint(1, 400)
        async with db.engine.begin() as conn:
            await write_batch(conn, records[start : start + size], rollups=T)
        start += size
    async with db.engine.begin() as conn:
        await write_batch(conn, records[: len(records) // 3], rollups=T)


@pytest.mark.parametrize("seed", [21, 22])
async def test_rollup_reports_equal_raw_reports_after_batches_in_any_order(db: Database, seed: int) -> None:
    await rebuild_rollups(db, T)
    rng = random.Random(seed)
    await feed(db, random_calls(300, rng, days=20, callers=40), rng)

    for request in requests():
        assert_same(
            await build_report(db, request, use_rollups=True),
            await build_report(db, request, use_rollups=False),
        )
