"""Projection of ACD journal events onto the ACD tables: correct, and unchanged by replays."""

from __future__ import annotations

from ccapp.calls.model import EventKind, agent_stream_id
from ccapp.storage import (
    Database,
    agent_state_rows,
    count_calls,
    count_events,
    disposition_rows,
    get_call,
    queue_call_rows,
    recording_row,
    recording_rows,
    transfer_rows,
    upgrade,
)
from ccapp.storage.acd_projection import agent_of_stream
from ccapp.storage.outbox import Record
from ccapp.storage.projection import write_batch
from tests.unit.storage.test_acd_scenario import Stream, all_records, at, dump, interleaved, scenario


async def store(db: Database, batch: list[Record]) -> int:
    async with db.engine.begin() as conn:
        return await write_batch(conn, batch)


def stream(call_id: str) -> Stream:
    return next(s for s in scenario() if s.stream_id == call_id)


async def test_an_answered_call_after_a_no_answer_becomes_one_queue_call_row(db: Database) -> None:
    await store(db, stream("c1").records)

    [row] = await queue_call_rows(db, call_id="c1")
    assert row == {
        "call_id": "c1",
        "entry": 1,
        "queue": "sales",
        "priority": 5,
        "entered_at": at(1),
        "left_at": at(22),
        "outcome": "answered",
        "target": None,
        "wait_s": 21.0,
        "agent_id": "a2",
        "offered_count": 2,
        "no_answer_count": 1,
        "connected_at": at(22),
        "disconnected_at": at(142),
        "ring_s": 4.0,
        "talk_s": 110.0,
        "hold_s": 10.0,
        "callback": False,
        "caller_number": "+15550001",
        "skill": None,
        "wrap_s": 30.0,
    }


async def test_an_abandoned_call_without_a_wait_gets_it_from_the_timestamps(db: Database) -> None:
    await store(db, stream("c2").records + stream("c3").records)

    c2, c3 = await queue_call_rows(db, queue="sales")
    assert (c2["outcome"], c2["wait_s"], c2["agent_id"], c2["offered_count"]) == ("abandoned", 3.0, None, 0)
    assert (c3["outcome"], c3["wait_s"], c3["left_at"]) == ("abandoned", 40.0, at(240))


async def test_an_overflow_makes_a_second_entry_in_the_target_queue(db: Database) -> None:
    await store(db, stream("c4").records)

    first, second = await queue_call_rows(db, call_id="c4")
    assert (first["entry"], first["queue"], first["outcome"], first["target"], first["wait_s"]) == (
        1,
        "sales",
        "overflow",
        "support",
        60.0,
    )
    assert first["agent_id"] is None
    assert (second["entry"], second["queue"], second["priority"], second["outcome"]) == (
        2,
        "support",
        1,
        "answered",
    )
    # queue.left carried no wait: agent.connected's stands; no talk time: computed from the timestamps.
    assert (second["agent_id"], second["wait_s"], second["ring_s"], second["talk_s"]) == (
        "a1",
        10.0,
        9.0,
        50.0,
    )
    assert second["hold_s"] is None


async def test_a_callback_request_marks_the_entry(db: Database) -> None:
    await store(db, stream("c6").records)

    [row] = await queue_call_rows(db, call_id="c6")
    assert (row["callback"], row["outcome"], row["wait_s"]) == (True, "callback", 30.0)


async def test_a_callback_flag_survives_later_batches_of_the_same_entry(db: Database) -> None:
    records = stream("c6").records
    for rec in records:
        await store(db, [rec])

    [row] = await queue_call_rows(db, call_id="c6")
    assert row["callback"] is True


async def test_an_attended_transfer_adds_both_agents_talk_to_the_entry(db: Database) -> None:
    e = {"queue": "sales", "entry": 1}
    transferred = (
        Stream("x2")
        .add(0, EventKind.QUEUE_ENTERED, **e)
        .add(4, EventKind.QUEUE_LEFT, **e, reason="answered", wait_s=4)
        .add(4, EventKind.AGENT_CONNECTED, **e, agent_id="a1", wait_s=4, ring_s=2)
        .add(34, EventKind.AGENT_DISCONNECTED, **e, agent_id="a1", talk_s=25, hold_s=5, by="transfer")
        .add(54, EventKind.AGENT_DISCONNECTED, **e, agent_id="a3", talk_s=20, hold_s=0, by="caller")
    )
    await store(db, transferred.records[:4])
    await store(db, transferred.records)

    [row] = await queue_call_rows(db, call_id="x2")
    assert (row["agent_id"], row["talk_s"], row["hold_s"], row["disconnected_at"]) == (
        "a1",
        45.0,
        5.0,
        at(54),
    )


async def test_a_callback_connected_later_keeps_the_queue_wait(db: Database) -> None:
    e = {"queue": "sales", "entry": 1}
    callback = (
        Stream("x3")
        .add(0, EventKind.QUEUE_ENTERED, **e)
        .add(30, EventKind.CALLBACK_REQUESTED, **e, number="+15550009")
        .add(31, EventKind.QUEUE_LEFT, **e, reason="callback", wait_s=31, target="callback")
        .add(200, EventKind.CALLBACK_DIALLED, **e, agent_id="a1", number="+15550009", answered=True)
        .add(205, EventKind.AGENT_CONNECTED, **e, agent_id="a1", wait_s=205, ring_s=5)
        .add(265, EventKind.AGENT_DISCONNECTED, **e, agent_id="a1", talk_s=60, hold_s=0)
    )
    await store(db, callback.records)

    [row] = await queue_call_rows(db, call_id="x3")
    assert (row["outcome"], row["callback"], row["wait_s"], row["agent_id"], row["talk_s"]) == (
        "callback",
        True,
        31.0,
        "a1",
        60.0,
    )


async def test_transfers_are_correct_incorrect_or_unjudged(db: Database) -> None:
    await store(db, all_records())

    rows = await transfer_rows(db)
    assert [(r["call_id"], r["target"], r["expected"], r["correct"]) for r in rows] == [
        ("c1", "support", "queue:support", True),
        ("c4", "+15559999", None, None),
        ("c5", "sales", "billing", False),
    ]
    [c1] = await transfer_rows(db, call_id="c1")
    assert c1 == c1 | {
        "seq": 11,
        "at": at(132),
        "kind": "blind",
        "by_agent": "a2",
        "target_type": "queue",
        "topic": "billing",
        "outcome": "completed",
    }


async def test_a_recording_row_gathers_start_stop_and_store(db: Database) -> None:
    await store(db, all_records())

    assert await recording_row(db, "r1") == {
        "recording_id": "r1",
        "call_id": "c1",
        "queue": "sales",
        "agent_id": "a2",
        "name": "c1-1",
        "policy": "all",
        "started_at": at(22),
        "ended_at": at(142),
        "duration_s": 120.0,
        "paused_s": 8.0,
        "paused_spans": [[30.0, 38.0]],
        "path": "2026/03/02/c1-1.wav",
        "size_bytes": 1_920_000,
        "deleted_at": None,
    }
    [r2] = await recording_rows(db, call_id="c5")
    assert (r2["recording_id"], r2["started_at"], r2["ended_at"], r2["paused_spans"]) == (
        "r2",
        at(505),
        None,
        None,
    )
    assert await recording_row(db, "missing") is None


async def test_a_recording_stopped_before_its_start_is_stored_still_merges(db: Database) -> None:
    records = stream("c1").records
    stopped = [r for r in records if r.kind == EventKind.RECORDING_STOPPED]
    await store(db, stopped)
    await store(db, records)

    row = await recording_row(db, "r1")
    assert row is not None
    assert (row["started_at"], row["ended_at"], row["name"], row["paused_s"]) == (
        at(22),
        at(142),
        "c1-1",
        8.0,
    )


async def test_a_disposition_is_one_row(db: Database) -> None:
    await store(db, all_records())

    [row] = await disposition_rows(db, call_id="c1")
    assert row == {
        "call_id": "c1",
        "seq": 16,
        "at": at(150),
        "agent_id": "a2",
        "outcome": "sale",
        "resolved": True,
        "topic": "billing",
        "notes": "ok",
        "right_party": None,
    }


async def test_agent_streams_become_agent_states_and_never_calls(db: Database) -> None:
    records = all_records()
    await store(db, records)

    assert await count_calls(db) == 7
    assert await get_call(db, agent_stream_id("a1", "s1")) is None
    assert await count_events(db) == len(records)
    a2 = await agent_state_rows(db, agent_id="a2")
    assert [(r["from_state"], r["to_state"], r["call_id"]) for r in a2] == [
        ("logged_out", "ready", None),
        ("ready", "ringing", "c1"),
        ("ringing", "on_call", "c1"),
        ("on_call", "wrap_up", "c1"),
        ("wrap_up", "ready", None),
    ]
    assert a2[3] == {
        "stream_id": "agent:a2:s1",
        "seq": 4,
        "agent_id": "a2",
        "at": at(142),
        "from_state": "on_call",
        "to_state": "wrap_up",
        "reason": None,
        "call_id": "c1",
        "queue": "sales",
        "campaign": None,
    }
    assert len(await agent_state_rows(db)) == 15


async def test_an_agent_state_without_an_agent_id_takes_it_from_the_stream(db: Database) -> None:
    stream_id = agent_stream_id("team:a9", "s2")
    await store(db, Stream(stream_id).add(0, EventKind.AGENT_STATE, to="ready").records)
    await store(db, Stream(stream_id).add(1, EventKind.ERROR, where="x").records)

    [row] = await agent_state_rows(db, agent_id="team:a9")
    assert (row["stream_id"], row["to_state"], row["from_state"]) == (stream_id, "ready", None)
    assert await count_calls(db) == 0


def test_the_agent_of_a_stream_is_between_the_prefix_and_the_session() -> None:
    assert agent_of_stream("agent:a1:s1") == "a1"
    assert agent_of_stream("agent:team:a1:s1") == "team:a1"
    assert agent_of_stream("agent:a1") == "a1"


async def test_replaying_the_same_batch_changes_nothing(db: Database) -> None:
    records = all_records()
    assert await store(db, records) == len(records)
    before = await dump(db)

    assert await store(db, records) == 0
    assert await store(db, list(reversed(records))) == 0
    assert await dump(db) == before


async def test_any_split_into_batches_and_replays_gives_the_same_rows(db: Database, db_url: str) -> None:
    records = all_records()
    await store(db, records)
    expected = await dump(db)

    other_url = db_url.replace("ccapp.db", "other.db")
    await upgrade(other_url)
    other = Database(other_url)
    try:
        ordered = interleaved()
        for i in range(0, len(ordered), 7):
            await store(other, ordered[i : i + 7])
            await store(other, ordered[max(0, i - 10) : i + 3])  # overlapping replays
        assert await dump(other) == expected
    finally:
        await other.dispose()


async def test_malformed_acd_data_is_stored_as_null_not_refused(db: Database) -> None:
    bad = (
        Stream("x1")
        .add(0, EventKind.QUEUE_ENTERED, queue="sales", entry="one", priority="high")
        .add(1, EventKind.AGENT_CONNECTED, queue="sales", agent_id="a1", wait_s="soon", ring_s=True)
        .add(2, EventKind.RECORDING_STOPPED, recording_id="r9", paused_spans=[[1, 2], "x", [3]])
        .add(3, EventKind.RECORDING_STARTED)
        .add(4, EventKind.DISPOSITION, resolved="yes")
    )
    await store(db, bad.records)

    [row] = await queue_call_rows(db, call_id="x1")
    assert (row["entry"], row["priority"], row["ring_s"], row["agent_id"]) == (1, None, None, "a1")
    assert row["wait_s"] is None
    r9 = await recording_row(db, "r9")
    assert r9 is not None
    assert r9["paused_spans"] == [[1.0, 2.0]]
    [disposition] = await disposition_rows(db)
    assert disposition["resolved"] is None
