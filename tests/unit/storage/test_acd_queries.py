"""ACD read helpers and the queue KPIs (`ccapp.kpi.summary`), against the hand-computed day of
`test_acd_scenario`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ccapp.calls.model import EventKind
from ccapp.kpi.summary import queue_summary
from ccapp.storage import (
    Database,
    expired_recordings,
    mark_recording_deleted,
    queue_call_rows,
    recording_row,
)
from ccapp.storage.outbox import Record
from ccapp.storage.projection import write_batch
from tests.unit.storage.test_acd_scenario import HOUR, T0, Stream, all_records, at

SALES_HOUR = {
    "queue": "sales",
    "entries": 6,
    "offered": 5,
    "answered": 2,
    "abandoned": 1,
    "short_abandons": 1,
    "answered_within_t": 1,
    "handled": 2,
    "service_level": 0.2,
    "sl2": 0.5,
    "asa_s": 13.0,
    "abandon_rate": 0.2,
    "aht_s": 110.0,
}


async def store(db: Database, batch: list[Record]) -> int:
    async with db.engine.begin() as conn:
        return await write_batch(conn, batch)


@pytest.fixture
async def day(db: Database) -> Database:
    await store(db, all_records())
    return db


async def test_queue_summary_matches_the_hand_computed_kpis(day: Database) -> None:
    assert await queue_summary(day, "sales", *HOUR) == SALES_HOUR


async def test_queue_summary_counts_an_overflow_entry_in_the_target_queue(day: Database) -> None:
    support = await queue_summary(day, "support", *HOUR)
    assert support == support | {
        "entries": 1,
        "offered": 1,
        "answered": 1,
        "answered_within_t": 1,
        "service_level": 1.0,
        "asa_s": 10.0,
        "abandon_rate": 0.0,
        "aht_s": 50.0,  # talk computed from the timestamps; no wrap-up for c4
    }


async def test_aht_counts_talk_hold_and_wrap_up_of_every_agent_who_had_the_call(db: Database) -> None:
    e = {"queue": "tech", "entry": 1}
    transferred = (
        Stream("x2")
        .add(0, EventKind.QUEUE_ENTERED, **e)
        .add(4, EventKind.QUEUE_LEFT, **e, reason="answered", wait_s=4)
        .add(4, EventKind.AGENT_CONNECTED, **e, agent_id="a1", ring_s=2)
        .add(34, EventKind.AGENT_DISCONNECTED, **e, agent_id="a1", talk_s=25, hold_s=5, by="transfer")
        .add(54, EventKind.AGENT_DISCONNECTED, **e, agent_id="a3", talk_s=20, hold_s=0, by="caller")
        .add(44, EventKind.AGENT_WRAPPED, **e, agent_id="a1", wrap_s=10)
        .add(59, EventKind.AGENT_WRAPPED, **e, agent_id="a3", wrap_s=5)
    )
    await store(db, transferred.records)

    summary = await queue_summary(db, "tech", *HOUR)
    # both agents' talk, hold and wrap-up count: the first agent's and the transfer target's
    assert (summary["handled"], summary["aht_s"]) == (1, 45 + 5 + 10 + 5)


async def test_queue_summary_thresholds_move_the_counts(day: Database) -> None:
    summary = await queue_summary(day, "sales", *HOUR, sl_threshold_s=21, short_abandon_s=2)
    assert summary == summary | {
        "short_abandons": 0,
        "offered": 6,
        "abandoned": 2,
        "answered_within_t": 2,
        "service_level": 2 / 6,
        "abandon_rate": 2 / 6,
    }


async def test_queue_summary_of_an_empty_period_has_no_ratios(day: Database) -> None:
    summary = await queue_summary(day, "sales", T0 - timedelta(days=1), T0)
    assert summary == {
        "queue": "sales",
        "entries": 0,
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "short_abandons": 0,
        "answered_within_t": 0,
        "handled": 0,
        "service_level": None,
        "sl2": None,
        "asa_s": None,
        "abandon_rate": None,
        "aht_s": None,
    }


async def test_queue_summary_takes_an_open_connection(day: Database) -> None:
    async with day.engine.connect() as conn:
        assert await queue_summary(conn, "sales", *HOUR) == SALES_HOUR


async def test_queue_call_rows_filter_by_call_and_queue(day: Database) -> None:
    assert len(await queue_call_rows(day)) == 8
    assert [r["call_id"] for r in await queue_call_rows(day, queue="sales")] == [
        "c1",
        "c2",
        "c3",
        "c4",
        "c5",
        "c6",
        "c7",
    ]
    assert [(r["queue"], r["entry"]) for r in await queue_call_rows(day, call_id="c4", queue="support")] == [
        ("support", 2)
    ]


async def test_expired_recordings_are_the_undeleted_ones_started_before(day: Database) -> None:
    assert [r["recording_id"] for r in await expired_recordings(day, at(600))] == ["r1", "r2"]
    assert [r["recording_id"] for r in await expired_recordings(day, at(100))] == ["r1"]
    assert await expired_recordings(day, at(22)) == []


async def test_a_deleted_recording_keeps_its_first_deletion_time(day: Database) -> None:
    assert await mark_recording_deleted(day, "r1", at(3600)) is True
    assert await mark_recording_deleted(day, "r1", at(7200)) is False
    assert await mark_recording_deleted(day, "missing", at(7200)) is False

    row = await recording_row(day, "r1")
    assert row is not None
    assert row["deleted_at"] == at(3600)
    assert [r["recording_id"] for r in await expired_recordings(day, at(600))] == ["r2"]


async def test_mark_recording_deleted_runs_in_the_callers_transaction(day: Database) -> None:
    async with day.engine.connect() as conn:
        assert await mark_recording_deleted(conn, "r2", at(3600)) is True
        await conn.rollback()
    row = await recording_row(day, "r2")
    assert row is not None
    assert row["deleted_at"] is None
