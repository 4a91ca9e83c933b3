"""benchmarks/kpi_data.py and kpi_report.py at a tiny size: the data, its repeat links and roll-ups,
and the report computed every way the benchmark times it."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import make_url

from benchmarks import kpi_data, kpi_load, kpi_report
from ccapp.kpi.definitions import Dimension, Interval, ReportRequest, Thresholds

SPEC = kpi_data.Spec(rows=3000, days=14, queues=4, agents=12, callers=400, topics=5, seed=3)
END = SPEC.start + timedelta(days=SPEC.days)
MIGRATED_INDEXES = (
    "ix_queue_calls_queue_entered_at",
    "ix_queue_calls_agent_id_connected_at",
    "ix_contacts_caller_number_topic_started_at",
    "ix_contacts_started_at",
)


@pytest.fixture(scope="module")
def calls() -> kpi_data.Calls:
    return kpi_data.generate(SPEC)


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory, calls: kpi_data.Calls) -> Path:
    path = tmp_path_factory.mktemp("kpi") / "kpi.db"
    kpi_load.load_sqlite(path, SPEC, calls, chunk=700)
    return path


def test_the_generator_makes_exactly_the_rows_asked_for_in_start_order_and_the_period(
    calls: kpi_data.Calls,
) -> None:
    assert len(calls) == SPEC.rows
    assert (np.diff(calls.started) >= 0).all()
    assert calls.started.min() >= SPEC.start_ms
    assert calls.started.max() < SPEC.start_ms + SPEC.days * kpi_data.DAY


def test_the_same_seed_gives_the_same_calls_and_another_seed_other_calls(calls: kpi_data.Calls) -> None:
    again = kpi_data.generate(SPEC)
    for name, values in vars(calls).items():
        assert np.array_equal(values, getattr(again, name), equal_nan=True), name
    other = kpi_data.generate(kpi_data.Spec(**{**vars(SPEC), "seed": 4}))
    assert not np.array_equal(calls.started, other.started)


def test_repeat_links_point_at_the_same_numbers_previous_and_next_contact_on_the_same_topic(
    calls: kpi_data.Calls,
) -> None:
    by_key: dict[tuple[int, int], list[int]] = {}
    for caller, topic, started in zip(
        calls.caller.tolist(), calls.topic.tolist(), calls.started.tolist(), strict=True
    ):
        by_key.setdefault((caller, topic), []).append(started)
    for i in range(len(calls)):
        times = sorted(by_key[(int(calls.caller[i]), int(calls.topic[i]))])
        at = times.index(int(calls.started[i]))
        assert calls.prev_at[i] == (times[at - 1] if at > 0 else -1)
        assert calls.next_at[i] == (times[at + 1] if at + 1 < len(times) else -1)


def test_a_real_share_of_contacts_repeat_within_seven_days_and_some_calls_are_abandoned_short(
    calls: kpi_data.Calls,
) -> None:
    repeated = (calls.next_at >= 0) & (calls.next_at - calls.started <= kpi_data.REPEAT_W_MS)
    assert 0.08 < repeated.mean() < 0.5
    crosses_midnight = repeated & (calls.next_at // kpi_data.DAY != calls.started // kpi_data.DAY)
    assert crosses_midnight.any()
    abandoned = calls.outcome == kpi_data.ABANDONED
    assert (abandoned & (calls.wait < kpi_data.SHORT_S)).any()
    assert 0.5 < (calls.outcome == kpi_data.ANSWERED).mean() < 0.98


def test_the_plain_sql_report_from_raw_rows_equals_the_generated_roll_ups_on_sqlite(
    sqlite_file: Path,
) -> None:
    th = Thresholds()
    raw = kpi_report.sqlite_sql(
        sqlite_file, kpi_report.reference_sql(kpi_report.Dialect("sqlite"), SPEC.start, END, th)
    )
    slots = kpi_report.sqlite_sql(
        sqlite_file, kpi_report.slots_sql(kpi_report.Dialect("sqlite"), SPEC.start, END)
    )
    assert len(raw) == SPEC.queues * SPEC.days
    assert kpi_report.differences(raw, slots) == []
    offered = sum(row["offered"] or 0 for row in raw.values())
    assert 0.8 * SPEC.rows < offered <= SPEC.rows


def test_the_loaded_sqlite_schema_keeps_the_migrated_indexes(sqlite_file: Path) -> None:
    import sqlite3

    con = sqlite3.connect(sqlite_file)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    con.close()
    assert set(MIGRATED_INDEXES) <= names


def test_duckdb_holds_the_same_rows_and_gives_the_same_report(
    tmp_path: Path, calls: kpi_data.Calls, sqlite_file: Path
) -> None:
    pytest.importorskip("duckdb")
    path = tmp_path / "kpi.duckdb"
    kpi_load.load_duckdb(path, SPEC, calls, chunk=1000)
    th = Thresholds()
    sqlite_table = kpi_report.sqlite_sql(
        sqlite_file, kpi_report.reference_sql(kpi_report.Dialect("sqlite"), SPEC.start, END, th)
    )
    duck = kpi_report.duckdb_sql(
        path, kpi_report.reference_sql(kpi_report.Dialect("duckdb"), SPEC.start, END, th)
    )
    assert kpi_report.differences(sqlite_table, duck) == []
    for dim, interval in (("topic", "day"), ("agent", "week")):
        by_sqlite = kpi_report.sqlite_sql(
            sqlite_file,
            kpi_report.adhoc_sql(kpi_report.Dialect("sqlite"), dim, interval, SPEC.start, END, th),
        )
        by_duck = kpi_report.duckdb_sql(
            path, kpi_report.adhoc_sql(kpi_report.Dialect("duckdb"), dim, interval, SPEC.start, END, th)
        )
        assert by_sqlite, dim
        assert kpi_report.differences(by_sqlite, by_duck) == [], dim


@pytest.mark.parametrize("use_rollups", [True, False])
def test_ccapps_report_equals_the_plain_sql_report(sqlite_file: Path, use_rollups: bool) -> None:
    pytest.importorskip("ccapp.kpi.engine")
    th = Thresholds()
    request = ReportRequest(SPEC.start, END, "UTC", (Dimension.QUEUE,), Interval.DAY, kpi_report.KPIS, th)
    url = f"sqlite+aiosqlite:///{sqlite_file}"
    table, source = asyncio.run(kpi_report.ccapp_report(url, request, use_rollups))
    assert source == ("rollup" if use_rollups else "raw")
    expected = kpi_report.sqlite_sql(
        sqlite_file, kpi_report.reference_sql(kpi_report.Dialect("sqlite"), SPEC.start, END, th)
    )
    assert kpi_report.differences(expected, table) == []


@pytest.mark.parametrize(("dim", "interval"), [("topic", "day"), ("agent", "week")])
def test_ccapps_ad_hoc_reports_equal_the_plain_sql_ones(sqlite_file: Path, dim: str, interval: str) -> None:
    pytest.importorskip("ccapp.kpi.engine")
    th = Thresholds()
    request = ReportRequest(
        SPEC.start, END, "UTC", (Dimension(dim),), Interval(interval), kpi_report.KPIS, th
    )
    table, source = asyncio.run(kpi_report.ccapp_report(f"sqlite+aiosqlite:///{sqlite_file}", request, True))
    assert source == "raw"
    expected = kpi_report.sqlite_sql(
        sqlite_file, kpi_report.adhoc_sql(kpi_report.Dialect("sqlite"), dim, interval, SPEC.start, END, th)
    )
    assert kpi_report.differences(expected, table) == []


@pytest.mark.postgres
def test_postgresql_gets_the_same_rows_the_migrated_schema_and_the_same_reports(
    calls: kpi_data.Calls, sqlite_file: Path
) -> None:
    base = os.environ.get("CCAPP_TEST_PG_URL")
    if not base:
        pytest.skip("set CCAPP_TEST_PG_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)")
    import asyncpg

    name = f"ccapp_bench_{uuid.uuid4().hex[:12]}"
    admin_dsn = base.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def admin(sql: str) -> None:
        con = await asyncpg.connect(admin_dsn)
        try:
            await con.execute(sql)
        finally:
            await con.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        asyncio.run(kpi_load.load_pg(url, SPEC, calls, chunk=700))
        th = Thresholds()
        pg = kpi_report.Dialect("pg")
        expected = kpi_report.sqlite_sql(
            sqlite_file, kpi_report.reference_sql(kpi_report.Dialect("sqlite"), SPEC.start, END, th)
        )
        for sql in (
            kpi_report.reference_sql(pg, SPEC.start, END, th),
            kpi_report.slots_sql(pg, SPEC.start, END),
        ):
            assert kpi_report.differences(expected, asyncio.run(kpi_report.pg_sql(url, sql))) == []
        assert set(MIGRATED_INDEXES) <= asyncio.run(_pg_index_names(url))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_index_names(url: str) -> set[str]:
    import asyncpg

    con = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        rows = await con.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    finally:
        await con.close()
    return {r["indexname"] for r in rows}
