"""Journal records of whole inbound calls for the KPI upkeep tests and the upkeep benchmark, and
brute-force references (repeat links, slot sums) to check the incremental upkeep against."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ccapp.calls.model import EventKind
from ccapp.kpi.definitions import ROLLUP_MEASURES, Thresholds
from ccapp.kpi.rollup import Contact, QueueEntry, total
from ccapp.storage import Database
from ccapp.storage.kpi_rollup import contacts_table, meta_table, queue_calls_table, slots_table
from ccapp.storage.outbox import Record

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(t: float) -> datetime:
    return T0 + timedelta(seconds=t)


def closed_call(
    call_id: str,
    t: float,
    caller: str | None,
    *,
    queue: str = "sales",
    outcome: str = "answered",
    wait_s: float = 10.0,
    talk_s: float = 60.0,
    hold_s: float = 5.0,
    wrap_s: float | None = 15.0,
    agent: str = "a1",
    topic: str | None = None,
    ivr_topic: str | None = None,
    resolved: bool | None = None,
    ivr_resolved: str | None = None,
    callback: bool = False,
    skill: str | None = None,
) -> list[Record]:
    """Every record of one inbound call starting ``t`` seconds after `T0`, in journal order."""
    records: list[Record] = []

    def add(dt: float, kind: EventKind, **data: Any) -> None:
        records.append(Record(call_id, len(records) + 1, at(t + dt), str(kind), data))

    e = {"queue": queue, "entry": 1}
    add(0, EventKind.CALL_STARTED, direction="inbound", via="ari", entry="inbound/x", caller_number=caller)
    if ivr_topic is not None:
        add(1, EventKind.VARIABLE, name="topic", value=ivr_topic)
    if ivr_resolved is not None:
        add(1, EventKind.VARIABLE, name="resolved", value=ivr_resolved)
    add(2, EventKind.QUEUE_ENTERED, **e, priority=5, skills={}, skill=skill, position=1)
    if outcome == "answered":
        add(2 + wait_s - 3, EventKind.AGENT_OFFERED, **e, agent_id=agent, leg_id=f"{call_id}-{agent}")
        add(2 + wait_s, EventKind.AGENT_CONNECTED, **e, agent_id=agent, wait_s=wait_s, ring_s=3.0)
        add(2 + wait_s, EventKind.QUEUE_LEFT, **e, reason="answered", wait_s=wait_s)
        end = 2 + wait_s + talk_s + hold_s
        add(end, EventKind.AGENT_DISCONNECTED, **e, agent_id=agent, talk_s=talk_s, hold_s=hold_s, by="caller")
        if wrap_s is not None:
            add(end + wrap_s, EventKind.AGENT_WRAPPED, **e, agent_id=agent, wrap_s=wrap_s)
        if topic is not None or resolved is not None:
            add(
                end + 1,
                EventKind.DISPOSITION,
                agent_id=agent,
                outcome="done",
                resolved=resolved,
                topic=topic,
                notes=None,
                right_party=None,
            )
    else:
        if callback:
            add(2 + wait_s, EventKind.CALLBACK_REQUESTED, **e, number=caller)
        add(2 + wait_s, EventKind.QUEUE_LEFT, **e, reason=outcome, wait_s=wait_s)
        end = 2 + wait_s
    add(end + 0.5, EventKind.CALL_ENDED, cause=16, outcome="answered" if outcome == "answered" else "hangup")
    return records


def random_calls(
    n: int, rng: random.Random, *, days: float = 10.0, callers: int | None = None
) -> list[Record]:
    """``n`` varied calls over ``days`` days from a pool of callers that call again on the same topics."""
    pool = callers or max(1, n // 3)
    records: list[Record] = []
    for i in range(n):
        outcome = rng.choices(["answered", "abandoned", "callback"], [0.8, 0.15, 0.05])[0]
        topic = rng.choice(["billing", "billing", "tech", "sales", None])
        records += closed_call(
            f"c{i:06d}",
            rng.uniform(0, days * 86400),
            f"+1555{rng.randrange(pool):07d}" if rng.random() > 0.02 else None,
            queue=rng.choice(["sales", "support"]),
            outcome="abandoned" if outcome == "callback" else outcome,
            callback=outcome == "callback",
            wait_s=rng.choice([1.0, 4.0, 5.0, 12.0, 20.0, 21.0, 45.0]),
            talk_s=round(rng.uniform(20, 400), 1),
            hold_s=rng.choice([0.0, 0.0, 12.5]),
            wrap_s=rng.choice([None, 10.0, 30.0]),
            topic=topic if rng.random() < 0.7 else None,
            ivr_topic=topic if rng.random() < 0.5 else None,
            resolved=rng.choice([True, False, None]),
            ivr_resolved=rng.choice([None, None, "yes", "0"]),
        )
    return records


async def contact_rows(db: Database) -> dict[str, dict[str, Any]]:
    async with db.engine.connect() as conn:
        found = await conn.execute(select(contacts_table))
        return {row["call_id"]: dict(row) for row in found.mappings()}


def expected_links(contacts: dict[str, dict[str, Any]]) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Brute force: each contact's previous and next start on the same number and topic."""
    out: dict[str, tuple[datetime | None, datetime | None]] = {}
    for call_id, c in contacts.items():
        if not (c["caller_number"] and c["topic"] and c["started_at"]):
            out[call_id] = (None, None)
            continue
        same = [
            o["started_at"]
            for o in contacts.values()
            if (o["caller_number"], o["topic"]) == (c["caller_number"], c["topic"]) and o["started_at"]
        ]
        before = [s for s in same if s < c["started_at"]]
        after = [s for s in same if s > c["started_at"]]
        out[call_id] = (max(before, default=None), min(after, default=None))
    return out


async def slot_rows(db: Database) -> dict[tuple[str, datetime], dict[str, float]]:
    async with db.engine.connect() as conn:
        found = await conn.execute(select(slots_table))
        return {(r["queue"], r["slot"]): {m: float(r[m]) for m in ROLLUP_MEASURES} for r in found.mappings()}


async def expected_slots(db: Database, t: Thresholds) -> dict[tuple[str, datetime], dict[str, float]]:
    """Brute force: the roll-up recomputed from every stored row."""
    async with db.engine.connect() as conn:
        q, c = queue_calls_table, contacts_table
        entries = [QueueEntry.of(r) for r in (await conn.execute(select(q))).mappings()]
        contacts = [Contact.of(r) for r in (await conn.execute(select(c))).mappings()]
    return total([*entries, *contacts], t)


async def meta_row(db: Database) -> dict[str, Any] | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(meta_table))).mappings().first()
        return dict(row) if row else None


def assert_same_slots(got: dict[Any, dict[str, float]], want: dict[Any, dict[str, float]]) -> None:
    assert set(got) == set(want)
    for key, measures in want.items():
        for name, value in measures.items():
            assert abs(got[key][name] - value) < 1e-6, (key, name, got[key][name], value)
