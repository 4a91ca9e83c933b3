"""The KPI engine on SQLite: the golden reports, parse_by, progress and the handle-time histogram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccapp.kpi.definitions import DEFAULT_KPIS, MEASURES, Dimension, Interval
from ccapp.kpi.engine import build_report, handle_time_histogram, parse_by
from ccapp.storage import Database, upgrade
from tests.unit.kpi import golden
from tests.unit.kpi.golden_cases import KPIS_TOTAL, Case, check
from tests.unit.kpi.golden_intervals import ALL_CASES


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    database = Database(url)
    await golden.load(database)
    yield database
    await database.dispose()


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
async def test_golden_reports_match_the_hand_computed_rows(db: Database, case: Case) -> None:
    report = await build_report(db, case.request, now=case.now)

    check(report, case)
    assert report.source == "raw"


async def test_every_kpi_of_the_whole_period_is_hand_computed(db: Database) -> None:
    report = await build_report(db, golden.request(), now=golden.NOW)

    assert set(KPIS_TOTAL) == {k for k in report.total.kpis}
    assert report.total.kpis == pytest.approx(KPIS_TOTAL)


async def test_an_empty_period_has_no_rows_zero_counts_and_none_ratios(db: Database) -> None:
    report = await build_report(db, golden.request(period=(golden.utc(10, 0), golden.utc(11, 0))))

    assert report.rows == []
    assert set(report.total.measures) == set(MEASURES)
    assert not any(report.total.measures.values())
    assert report.total.kpis["offered"] == 0
    assert report.total.kpis["service_level"] is None
    assert report.total.kpis["occupancy"] is None
    assert report.total.kpis["rpc_per_hour"] is None


async def test_a_report_by_queue_has_no_agent_time_or_outbound_measures(db: Database) -> None:
    report = await build_report(db, golden.request((Dimension.QUEUE,)))

    assert "handling_s" not in report.total.measures
    assert "dial_attempts" not in report.total.measures
    assert "ivr_calls" not in report.total.measures
    assert report.total.kpis["occupancy"] is None


async def test_families_no_requested_kpi_needs_are_skipped(db: Database) -> None:
    report = await build_report(db, golden.request(kpis=DEFAULT_KPIS))

    assert "transfers" not in report.total.measures
    assert "handling_s" not in report.total.measures
    assert report.total.measures["entries"] == 11
    assert report.total.measures["contacts_handled"] == 8


async def test_a_report_by_campaign_on_queue_kpis_only_is_empty(db: Database) -> None:
    report = await build_report(db, golden.request((Dimension.CAMPAIGN,), kpis=("offered", "service_level")))

    assert report.rows == []
    assert report.total.kpis == {"offered": 0.0, "service_level": None}


async def test_week_and_month_fold_local_days(db: Database) -> None:
    week = await build_report(db, golden.request((), Interval.WEEK, period=golden.WIDE, kpis=("offered",)))
    month = await build_report(db, golden.request((), Interval.MONTH, period=golden.WIDE, kpis=("offered",)))

    # Paris: Monday 23 March covers 27-29 March; Monday 30 March (summer time) gets q10
    assert [(r.key["interval"], r.measures["entries"]) for r in week.rows] == [
        ("2026-03-23T00:00:00+01:00", 12),
        ("2026-03-30T00:00:00+02:00", 1),
    ]
    assert [(r.key["interval"], r.measures["entries"]) for r in month.rows] == [
        ("2026-03-01T00:00:00+01:00", 13)
    ]


async def test_progress_goes_from_zero_to_one_in_order(db: Database) -> None:
    seen: list[float] = []

    await build_report(db, golden.request(), progress=seen.append, now=golden.NOW)

    assert seen[0] == 0.0
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    assert len(seen) >= 7  # one step per family


async def test_an_unknown_kpi_or_filter_is_a_value_error(db: Database) -> None:
    with pytest.raises(ValueError, match="nope"):
        await build_report(db, golden.request(kpis=("offered", "nope")))
    with pytest.raises(ValueError, match="colour"):
        await build_report(db, golden.request(where={"colour": "red"}))


async def test_an_unknown_zone_is_a_value_error(db: Database) -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        await build_report(db, golden.request(zone="Mars/Olympus"))


async def test_naive_period_bounds_are_taken_as_utc(db: Database) -> None:
    naive = (golden.START.replace(tzinfo=None), golden.END.replace(tzinfo=None))

    report = await build_report(db, golden.request(period=naive, kpis=("offered",)))

    assert report.total.measures["entries"] == 11


async def test_the_handle_time_histogram_counts_handled_entries_per_bin(db: Database) -> None:
    # handled in the period: 150, 60, 200, 70, 45 s
    bins = await handle_time_histogram(db, golden.request(), [0, 60, 120, 180])
    sales = await handle_time_histogram(db, golden.request(where={"queue": "sales"}), [0, 60, 120, 180])

    assert bins == [(0.0, 60.0, 1), (60.0, 120.0, 2), (120.0, 180.0, 1), (180.0, None, 1)]
    assert sales == [(0.0, 60.0, 1), (60.0, 120.0, 0), (120.0, 180.0, 1), (180.0, None, 1)]


async def test_handle_times_below_the_first_edge_are_left_out(db: Database) -> None:
    assert await handle_time_histogram(db, golden.request(), [100]) == [(100.0, None, 2)]
    with pytest.raises(ValueError, match="increasing"):
        await handle_time_histogram(db, golden.request(), [60, 30])
    with pytest.raises(ValueError, match="campaign"):
        await handle_time_histogram(db, golden.request(where={"campaign": "winter"}), [0])


def test_parse_by_reads_dimensions_and_one_interval() -> None:
    assert parse_by("queue,hour") == ((Dimension.QUEUE,), Interval.HOUR)
    assert parse_by(" Agent , campaign ") == ((Dimension.AGENT, Dimension.CAMPAIGN), None)
    assert parse_by("15m") == ((), Interval.MIN15)
    assert parse_by("") == ((), None)
    assert parse_by("day,skill,topic") == ((Dimension.SKILL, Dimension.TOPIC), Interval.DAY)


def test_parse_by_names_every_bad_word() -> None:
    with pytest.raises(ValueError, match="'colour', 'year'"):
        parse_by("queue,colour,year")


def test_parse_by_allows_one_interval_only() -> None:
    with pytest.raises(ValueError, match="at most one interval"):
        parse_by("day,hour")
    with pytest.raises(ValueError, match="twice"):
        parse_by("queue,queue")
