"""Projection of journal events onto calls and legs: correct, and unchanged by replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ccapp.calls.fakes import MemoryJournal
from ccapp.calls.model import CallEvent, EventKind
from ccapp.clock import FakeClock
from ccapp.storage import Database, count_calls, count_events, get_call, list_events, list_legs
from ccapp.storage.outbox import Record, decode, encode
from ccapp.storage.projection import write_batch
from tests.unit.storage.helpers import EVENTS_PER_CALL, run_call

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def records(events: list[CallEvent]) -> list[Record]:
    return [decode(encode(e)) for e in events]


async def store(db: Database, batch: list[Record]) -> int:
    async with db.engine.begin() as conn:
        return await write_batch(conn, batch)


async def snapshot(db: Database, call_id: str) -> tuple[Any, ...]:
    return (
        await get_call(db, call_id),
        await list_legs(db, call_id),
        await list_events(db, call_id),
        await count_calls(db),
        await count_events(db),
    )


async def test_an_answered_call_becomes_one_call_row_two_legs_and_its_events(
    db: Database, clock: FakeClock
) -> None:
    journal = MemoryJournal()
    run_call(journal, clock, "c1")
    assert await store(db, records(journal.events)) == EVENTS_PER_CALL

    call = await get_call(db, "c1")
    assert call is not None
    assert call == call | {
        "direction": "inbound",
        "via": "ari",
        "entry": "inbound/first",
        "caller_number": "+15550100",
        "caller_name": "Alice",
        "called_number": "100",
        "started_at": T0,
        "answered_at": T0 + timedelta(seconds=0.5),
        "ended_at": T0 + timedelta(seconds=35.5),
        "duration_s": 35.5,
        "hangup_cause": 16,
        "hangup_cause_text": "Normal Clearing",
        "outcome": "answered",
        "digits": "****",
        "last_seq": EVENTS_PER_CALL,
    }
    legs = await list_legs(db, "c1")
    assert [(leg["leg_id"], leg["role"], leg["hangup_cause"]) for leg in legs] == [
        ("c1-a", "caller", 16),
        ("c1-b", "agent", 16),
    ]
    assert legs[1]["endpoint"] == "PJSIP/agent1"
    assert legs[1]["created_at"] == T0 + timedelta(seconds=2.5)
    assert legs[1]["answered_at"] == T0 + timedelta(seconds=5.5)
    assert legs[1]["ended_at"] == T0 + timedelta(seconds=35.5)
    events = await list_events(db, "c1")
    assert [e["seq"] for e in events] == list(range(1, EVENTS_PER_CALL + 1))
    assert events[0]["kind"] == "call.started"
    assert events[5]["data"] == {"digits": "12", "terminator": "#", "timed_out": False}


async def test_replaying_the_same_events_changes_nothing(db: Database, clock: FakeClock) -> None:
    journal = MemoryJournal()
    run_call(journal, clock, "c1")
    batch = records(journal.events)
    await store(db, batch)
    before = await snapshot(db, "c1")

    assert await store(db, batch) == 0
    assert await store(db, batch + batch) == 0
    for record in reversed(batch):
        assert await store(db, [record]) == 0
    assert await snapshot(db, "c1") == before


async def test_one_event_per_batch_projects_like_one_big_batch(db: Database, clock: FakeClock) -> None:
    journal = MemoryJournal()
    run_call(journal, clock, "whole")
    run_call(journal, clock, "piecewise")
    whole = [r for r in records(journal.events) if r.call_id == "whole"]
    for record in (r for r in records(journal.events) if r.call_id == "piecewise"):
        await store(db, [record])
    await store(db, whole)

    def strip(row: dict[str, Any] | None) -> dict[str, Any]:
        assert row is not None
        return {k: v for k, v in row.items() if k not in {"call_id", "started_at", "answered_at", "ended_at"}}

    assert strip(await get_call(db, "piecewise")) == strip(await get_call(db, "whole"))


async def test_the_call_is_answered_when_its_first_leg_answers(db: Database) -> None:
    batch = [
        Record("c1", 1, T0, "call.started", {"direction": "outbound"}),
        Record("c1", 2, T0, "leg.added", {"leg_id": "a", "channel": "PJSIP/a"}),
        Record("c1", 3, T0, "leg.added", {"leg_id": "b", "channel": "PJSIP/b"}),
        Record("c1", 4, T0 + timedelta(seconds=4), "leg.answered", {"leg_id": "b"}),
    ]
    await store(db, batch)
    await store(db, [Record("c1", 5, T0 + timedelta(seconds=9), "leg.answered", {"leg_id": "a"})])
    call = await get_call(db, "c1")
    assert call is not None
    assert call["answered_at"] == T0 + timedelta(seconds=4)
    legs = {leg["leg_id"]: leg["answered_at"] for leg in await list_legs(db, "c1")}
    assert legs == {"a": T0 + timedelta(seconds=9), "b": T0 + timedelta(seconds=4)}
    assert call["duration_s"] is None


async def test_odd_events_are_stored_without_breaking_the_projection(db: Database) -> None:
    batch = [
        Record("c1", 1, T0, "call.started", {"caller_number": 5550100}),
        Record("c1", 2, T0, "something.new", {"x": [1, 2]}),
        Record("c1", 3, T0, "leg.answered", {}),
        Record("c1", 4, T0, "leg.ended", {"leg_id": "never-added", "cause": "bogus"}),
        Record("c1", 5, T0 + timedelta(seconds=1), "call.ended", {"cause": 99, "cause_text": None}),
    ]
    assert await store(db, batch) == 5
    call = await get_call(db, "c1")
    assert call is not None
    assert call["caller_number"] == "5550100"
    assert (call["hangup_cause"], call["hangup_cause_text"], call["duration_s"]) == (99, None, 1.0)
    legs = await list_legs(db, "c1")
    assert [(leg["leg_id"], leg["channel"], leg["hangup_cause"]) for leg in legs] == [
        ("never-added", None, None)
    ]


async def test_events_of_a_call_that_started_in_an_earlier_batch_extend_it(db: Database) -> None:
    await store(db, [Record("c1", 1, T0, "call.started", {"direction": "inbound"})])
    await store(
        db,
        [
            Record("c1", 2, T0, "digits", {"digits": "42"}),
            Record("c1", 3, T0 + timedelta(seconds=7), "call.ended", {"cause": 17, "outcome": "busy"}),
        ],
    )
    call = await get_call(db, "c1")
    assert call is not None
    assert (call["direction"], call["digits"], call["outcome"]) == ("inbound", "42", "busy")
    assert (call["duration_s"], call["hangup_cause_text"], call["last_seq"]) == (7.0, "User busy", 3)


def test_events_encode_with_iso_times_and_kind_values() -> None:
    event = CallEvent("c1", 1, T0, EventKind.DIGITS, {"digits": "1", "when": T0, "kinds": {EventKind.PROMPT}})
    line = encode(event)
    assert '"at":"2026-01-05T09:00:00+00:00"' in line
    assert '"kind":"digits"' in line
    assert decode(line) == Record(
        "c1", 1, T0, "digits", {"digits": "1", "when": "2026-01-05T09:00:00+00:00", "kinds": ["prompt"]}
    )
