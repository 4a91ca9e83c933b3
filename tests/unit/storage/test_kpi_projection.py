"""Contacts projected from the journal: values, repeat links in any arrival order, relinks."""

from __future__ import annotations

import random

import pytest

from ccapp.calls.model import EventKind
from ccapp.kpi.definitions import Thresholds
from ccapp.storage import Database, disposition_rows, queue_call_rows
from ccapp.storage.kpi_projection import parse_resolved
from ccapp.storage.outbox import Record
from ccapp.storage.projection import write_batch
from tests.unit.storage.kpi_calls import at, closed_call, contact_rows, expected_links, random_calls


async def store(db: Database, batch: list[Record], rollups: Thresholds | None = None) -> int:
    async with db.engine.begin() as conn:
        return await write_batch(conn, batch, rollups=rollups)


def var(call_id: str, seq: int, t: float, name: str, value: str) -> Record:
    return Record(call_id, seq, at(t), str(EventKind.VARIABLE), {"name": name, "value": value})


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("YES", True), ("1", True), ("false", False), ("no", False), ("0", False), ("x", None)],
)
def test_an_ivr_resolved_variable_reads_as_a_truth_value(text: str, value: bool | None) -> None:
    assert parse_resolved(text) is value


async def test_a_handled_call_becomes_one_contact_with_its_disposition(db: Database) -> None:
    await store(db, closed_call("c1", 0, "+1555", topic="billing", resolved=True, ivr_topic="tech"))

    contacts = await contact_rows(db)
    assert contacts == {
        "c1": {
            "call_id": "c1",
            "caller_number": "+1555",
            "topic": "billing",
            "started_at": at(0),
            "queue": "sales",
            "agent_id": "a1",
            "handled": True,
            "resolved": True,
            "outcome": "done",
            "prev_at": None,
            "next_at": None,
        }
    }


async def test_ivr_variables_give_topic_resolved_and_outcome_when_no_disposition_does(db: Database) -> None:
    records = closed_call("c1", 0, "+1555", outcome="abandoned")
    extra = [
        var("c1", 90 + i, 1, n, v)
        for i, (n, v) in enumerate([("topic", "tech"), ("resolved", "yes"), ("outcome", "self-service")])
    ]
    await store(db, records + extra)

    c = (await contact_rows(db))["c1"]
    assert (c["topic"], c["resolved"], c["outcome"], c["handled"], c["queue"]) == (
        "tech",
        True,
        "self-service",
        False,
        None,
    )


async def test_a_disposition_overrides_the_ivr_topic_even_when_it_arrives_first(db: Database) -> None:
    records = closed_call("c1", 0, "+1555", topic="billing", ivr_topic="tech")
    await store(db, [r for r in records if r.kind != EventKind.VARIABLE])
    await store(db, [r for r in records if r.kind == EventKind.VARIABLE])

    assert (await contact_rows(db))["c1"]["topic"] == "billing"


async def test_agent_streams_make_no_contacts(db: Database) -> None:
    state = Record("agent:a1:s1", 1, at(0), str(EventKind.AGENT_STATE), {"agent_id": "a1", "to": "ready"})
    await store(db, [state])

    assert await contact_rows(db) == {}


async def test_the_last_connected_entry_names_the_queue_and_agent(db: Database) -> None:
    records = closed_call("c1", 0, "+1555", queue="sales", agent="a1")
    second = {"queue": "support", "entry": 2}
    later = [
        Record("c1", 50, at(500), str(EventKind.QUEUE_ENTERED), second),
        Record("c1", 51, at(510), str(EventKind.AGENT_CONNECTED), second | {"agent_id": "a9"}),
    ]
    await store(db, later)
    await store(db, records)

    c = (await contact_rows(db))["c1"]
    assert (c["queue"], c["agent_id"], c["handled"]) == ("support", "a9", True)


async def test_repeat_links_join_the_same_numbers_contacts_on_the_same_topic(db: Database) -> None:
    await store(db, closed_call("c1", 0, "+1", topic="billing"))
    await store(db, closed_call("c2", 3600, "+1", topic="billing"))
    await store(db, closed_call("c3", 7200, "+1", topic="tech"))
    await store(db, closed_call("c4", 9000, "+2", topic="billing"))
    await store(db, closed_call("c5", 9500, "+1", topic=None))

    c = await contact_rows(db)
    assert (c["c1"]["prev_at"], c["c1"]["next_at"]) == (None, at(3600))
    assert (c["c2"]["prev_at"], c["c2"]["next_at"]) == (at(0), None)
    for call_id in ("c3", "c4", "c5"):
        assert (c[call_id]["prev_at"], c[call_id]["next_at"]) == (None, None)


async def test_a_contact_arriving_between_two_others_relinks_both(db: Database) -> None:
    await store(db, closed_call("c1", 0, "+1", topic="billing"))
    await store(db, closed_call("c3", 7200, "+1", topic="billing"))
    await store(db, closed_call("c2", 3600, "+1", topic="billing"))

    c = await contact_rows(db)
    assert c["c1"]["next_at"] == at(3600)
    assert (c["c2"]["prev_at"], c["c2"]["next_at"]) == (at(0), at(7200))
    assert c["c3"]["prev_at"] == at(3600)


async def test_a_topic_change_relinks_the_old_and_the_new_neighbours(db: Database) -> None:
    for i, topic in enumerate(["billing", "billing", "billing", "tech", "tech"]):
        await store(db, closed_call(f"c{i}", i * 3600, "+1", topic=topic))
    # c1 moves from billing to tech: c0 and c2 become neighbours, c1 sits between c0... of tech
    moved = Record("c1", 99, at(3700), str(EventKind.DISPOSITION), {"topic": "tech", "outcome": "redo"})
    await store(db, [moved])

    c = await contact_rows(db)
    assert expected_links(c) == {k: (v["prev_at"], v["next_at"]) for k, v in c.items()}
    assert c["c0"]["next_at"] == at(2 * 3600)
    assert (c["c1"]["prev_at"], c["c1"]["next_at"]) == (None, at(3 * 3600))
    assert c["c3"]["prev_at"] == at(3600)


async def test_a_late_call_started_gives_the_contact_its_links(db: Database) -> None:
    records = closed_call("c2", 3600, "+1", topic="billing")
    await store(db, closed_call("c1", 0, "+1", topic="billing"))
    await store(db, records[1:])
    assert (await contact_rows(db)).get("c2") is None
    await store(db, records[:1])

    c = await contact_rows(db)
    assert (c["c1"]["next_at"], c["c2"]["prev_at"]) == (at(3600), at(0))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_links_are_right_whatever_order_and_batches_calls_arrive_in(db: Database, seed: int) -> None:
    rng = random.Random(seed)
    records = random_calls(120, rng, days=3, callers=15)
    rng.shuffle(records)
    for start in range(0, len(records), 97):
        await store(db, records[start : start + 97])
    await store(db, records[:300])  # a replayed batch changes nothing

    c = await contact_rows(db)
    assert len(c) == 120
    assert expected_links(c) == {k: (v["prev_at"], v["next_at"]) for k, v in c.items()}


async def test_skill_wrap_up_and_right_party_are_projected(db: Database) -> None:
    records = closed_call("c1", 0, "+1", skill="french", wrap_s=12.5, topic="billing")
    records = [
        r
        if r.kind != EventKind.DISPOSITION
        else Record(r.call_id, r.seq, r.at, r.kind, r.data | {"right_party": True})
        for r in records
    ]
    records.append(
        Record("c1", 80, at(400), str(EventKind.AGENT_WRAPPED), {"queue": "sales", "entry": 1, "wrap_s": 2.5})
    )
    await store(db, records)

    [row] = await queue_call_rows(db, call_id="c1")
    assert (row["skill"], row["wrap_s"]) == ("french", 15.0)
    [disposition] = await disposition_rows(db, call_id="c1")
    assert disposition["right_party"] is True
