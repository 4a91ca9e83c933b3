"""Agent time from agent-state rows (pure): spans, clipping, sessions without logout, interval edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccapp.errors import StorageError
from ccapp.kpi.agent_time import Span, measures, spans
from ccapp.kpi.buckets import edges, epoch_us
from ccapp.kpi.definitions import Interval, ReportRequest
from ccapp.kpi.engine import build_report
from ccapp.storage import Database

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def us(minutes: float) -> int:
    return epoch_us(at(minutes))


def test_each_state_lasts_until_the_agents_next_row_and_the_last_until_now() -> None:
    rows = [
        ("a1", at(0), "ready", None),
        ("a1", at(10), "on_call", "winter"),
        ("a1", at(25), "logged_out", None),
        ("a2", at(5), "not_ready", None),
    ]

    found = spans(rows, at(0), at(60), now=at(30))

    assert found == [
        Span("a1", "ready", None, us(0), us(10)),
        Span("a1", "on_call", "winter", us(10), us(25)),
        Span("a2", "not_ready", None, us(5), us(30)),
    ]


def test_a_session_that_ended_without_logout_stops_at_the_next_sessions_first_row() -> None:
    rows = [("a1", at(0), "ready", None), ("a1", at(40), "ready", None), ("a1", at(50), "logged_out", None)]

    assert [(s.start_us, s.end_us) for s in spans(rows, at(0), at(60), now=at(90))] == [
        (us(0), us(40)),
        (us(40), us(50)),
    ]


def test_spans_are_clipped_to_the_period() -> None:
    rows = [("a1", at(-30), "ready", None), ("a1", at(90), "logged_out", None)]

    assert spans(rows, at(0), at(60), now=at(120)) == [Span("a1", "ready", None, us(0), us(60))]


def test_spans_split_at_interval_edges_and_sum_per_state() -> None:
    cuts = edges(Interval.HOUR, "UTC", at(0), at(120))
    found = [
        Span("a1", "on_call", None, us(50), us(70)),
        Span("a1", "wrap_up", None, us(70), us(75)),
        Span("a1", "ready", None, us(75), us(120)),
    ]

    by_hour = measures(found, ("agent",), {}, cuts)

    assert {(k[0], k[1].iso if k[1] else None): v for k, v in by_hour.items()} == {
        (("a1",), "2026-05-04T09:00:00+00:00"): {"logged_in_s": 600.0, "handling_s": 600.0},
        (("a1",), "2026-05-04T10:00:00+00:00"): {
            "logged_in_s": 3600.0,
            "handling_s": 900.0,
            "ready_s": 2700.0,
        },
    }


def test_campaign_time_and_filters() -> None:
    found = [Span("a1", "ready", "winter", us(0), us(30)), Span("a2", "on_call", None, us(0), us(60))]

    assert measures(found, ("campaign",), {}, None) == {
        (("winter",), None): {"logged_in_s": 1800.0, "ready_s": 1800.0, "campaign_logged_in_s": 1800.0},
        ((None,), None): {"logged_in_s": 3600.0, "handling_s": 3600.0},
    }
    assert measures(found, (), {"agent": "a2"}, None) == {
        ((), None): {"logged_in_s": 3600.0, "handling_s": 3600.0}
    }


async def _report(db: Database, request: ReportRequest, own_connection: bool) -> None:
    if own_connection:
        await build_report(db, request)
    else:
        async with db.engine.connect() as conn:
            await build_report(conn, request)


@pytest.mark.parametrize("own_connection", [True, False])
async def test_a_database_without_the_tables_is_a_storage_error(tmp_path: Path, own_connection: bool) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    request = ReportRequest(at(0), at(60), kpis=("offered", "occupancy", "rpc_rate"))
    try:
        with pytest.raises(StorageError, match="no such table"):
            await _report(db, request, own_connection)
    finally:
        await db.dispose()
