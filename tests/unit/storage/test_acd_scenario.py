"""The ACD day shared by the SQLite and PostgreSQL storage tests, and a dump of every projected table.

Queue ``sales`` (T = 20 s, S = 5 s) gets six entries in the first hour:

- ``c1`` rings agent a1 (no answer after 15 s), then a2 answers: wait 21 s, talk 110 s, hold 10 s,
  wrap-up 30 s; a correct transfer, a recording with a pause, a resolved disposition;
- ``c2`` abandons after 3 s (a short abandon); ``c3`` abandons after 40 s (``queue.left`` without a
  wait: computed from the timestamps);
- ``c4`` overflows after 60 s to ``support`` (entry 2), where a1 answers after 10 s and talks 50 s
  (``agent.disconnected`` without times: computed); a transfer with no escalation rule;
- ``c5`` is answered by a1 after 5 s, talk 60 s, wrap-up 10 s; a wrong transfer; a recording still open;
- ``c6`` asks for a callback after 30 s.

``c7`` enters ``sales`` a day later (outside the hour). Hand-computed KPIs of sales in the hour:
entries 6, short abandons 1, offered 5, answered 2 (1 within T), abandoned 1, SL 0.2, ASA 13 s,
abandon rate 0.2, AHT (150 + 70) / 2 = 110 s, SL2 (1 + 1) / (2 + 2) = 0.5.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ccapp.calls.model import EventKind, agent_stream_id
from ccapp.storage import Database
from ccapp.storage.models import Base
from ccapp.storage.outbox import Record

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = (T0, T0 + timedelta(hours=1))


def at(t: float) -> datetime:
    return T0 + timedelta(seconds=t)


class Stream:
    """Records of one journal stream, numbered 1, 2, … like the journal does."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.records: list[Record] = []

    def add(self, t: float, event: EventKind, /, **data: Any) -> Stream:
        self.records.append(Record(self.stream_id, len(self.records) + 1, at(t), str(event), data))
        return self


def call(call_id: str, t: float, caller: str) -> Stream:
    return Stream(call_id).add(
        t, EventKind.CALL_STARTED, direction="inbound", via="ari", entry="inbound/sales", caller_number=caller
    )


def agent_states(agent_id: str, *changes: tuple[float, str, str, str | None], queue: str = "sales") -> Stream:
    stream = Stream(agent_stream_id(agent_id, "s1"))
    for t, old, new, call_id in changes:
        stream.add(
            t,
            EventKind.AGENT_STATE,
            agent_id=agent_id,
            reason=None,
            call_id=call_id,
            queue=queue,
            **{"from": old, "to": new},
        )
    return stream


def scenario() -> list[Stream]:
    """Every stream of the day (see the module docstring)."""
    s = {"queue": "sales", "entry": 1}
    c1 = (
        call("c1", 0, "+15550001")
        .add(1, EventKind.QUEUE_ENTERED, **s, priority=5, skills=["en"], position=1, expected_wait_s=12)
        .add(2, EventKind.AGENT_OFFERED, **s, agent_id="a1", leg_id="c1-a1", endpoint="PJSIP/a1")
        .add(17, EventKind.AGENT_NO_ANSWER, **s, agent_id="a1", leg_id="c1-a1", ring_s=15, cause=19)
        .add(18, EventKind.AGENT_OFFERED, **s, agent_id="a2", leg_id="c1-a2", endpoint="PJSIP/a2")
        .add(22, EventKind.AGENT_CONNECTED, **s, agent_id="a2", leg_id="c1-a2", wait_s=21, ring_s=4)
        .add(22, EventKind.QUEUE_LEFT, **s, reason="answered", wait_s=21, target=None)
        .add(
            22,
            EventKind.RECORDING_STARTED,
            recording_id="r1",
            name="c1-1",
            queue="sales",
            agent_id="a2",
            policy="all",
        )
        .add(52, EventKind.RECORDING_PAUSED, recording_id="r1", reason="sensitive")
        .add(60, EventKind.RECORDING_RESUMED, recording_id="r1", reason="sensitive")
        .add(
            132,
            EventKind.TRANSFER,
            kind="blind",
            by_agent="a2",
            target_type="queue",
            target="support",
            topic="billing",
            expected="queue:support",
            outcome="completed",
        )
        .add(
            142,
            EventKind.AGENT_DISCONNECTED,
            **s,
            agent_id="a2",
            leg_id="c1-a2",
            talk_s=110,
            hold_s=10,
            by="agent",
        )
        .add(
            142,
            EventKind.RECORDING_STOPPED,
            recording_id="r1",
            duration_s=120,
            paused_s=8,
            paused_spans=[[30, 38]],
        )
        .add(
            143,
            EventKind.RECORDING_STORED,
            recording_id="r1",
            path="2026/03/02/c1-1.wav",
            size_bytes=1_920_000,
        )
        .add(143, EventKind.CALL_ENDED, cause=16, outcome="answered")
        .add(
            150,
            EventKind.DISPOSITION,
            agent_id="a2",
            outcome="sale",
            resolved=True,
            topic="billing",
            notes="ok",
        )
    )
    c2 = (
        call("c2", 100, "+15550002")
        .add(100, EventKind.QUEUE_ENTERED, **s, priority=0)
        .add(103, EventKind.QUEUE_LEFT, **s, reason="abandoned", wait_s=3)
        .add(103, EventKind.CALL_ENDED, cause=16, outcome="abandoned")
    )
    c3 = (
        call("c3", 200, "+15550003")
        .add(200, EventKind.QUEUE_ENTERED, **s)
        .add(240, EventKind.QUEUE_LEFT, **s, reason="abandoned")
    )
    s2 = {"queue": "support", "entry": 2}
    c4 = (
        call("c4", 300, "+15550004")
        .add(300, EventKind.QUEUE_ENTERED, **s)
        .add(360, EventKind.QUEUE_LEFT, **s, reason="overflow", wait_s=60, target="support")
        .add(360, EventKind.QUEUE_ENTERED, **s2, priority=1)
        .add(361, EventKind.AGENT_OFFERED, **s2, agent_id="a1", leg_id="c4-a1")
        .add(370, EventKind.AGENT_CONNECTED, **s2, agent_id="a1", leg_id="c4-a1", wait_s=10, ring_s=9)
        .add(370, EventKind.QUEUE_LEFT, **s2, reason="answered")
        .add(
            400,
            EventKind.TRANSFER,
            kind="attended",
            by_agent="a1",
            target_type="number",
            target="+15559999",
            topic=None,
            expected=None,
            outcome="failed",
        )
        .add(420, EventKind.AGENT_DISCONNECTED, **s2, agent_id="a1", leg_id="c4-a1", by="caller")
    )
    c5 = (
        call("c5", 500, "+15550005")
        .add(500, EventKind.QUEUE_ENTERED, **s)
        .add(501, EventKind.AGENT_OFFERED, **s, agent_id="a1", leg_id="c5-a1")
        .add(505, EventKind.AGENT_CONNECTED, **s, agent_id="a1", leg_id="c5-a1", wait_s=5, ring_s=4)
        .add(505, EventKind.QUEUE_LEFT, **s, reason="answered", wait_s=5)
        .add(
            505,
            EventKind.RECORDING_STARTED,
            recording_id="r2",
            name="c5-1",
            queue="sales",
            agent_id="a1",
            policy="all",
        )
        .add(
            530,
            EventKind.TRANSFER,
            kind="blind",
            by_agent="a1",
            target_type="queue",
            target="sales",
            topic="billing",
            expected="billing",
            outcome="completed",
        )
        .add(565, EventKind.AGENT_DISCONNECTED, **s, agent_id="a1", leg_id="c5-a1", talk_s=60, hold_s=0)
    )
    c6 = (
        call("c6", 600, "+15550006")
        .add(600, EventKind.QUEUE_ENTERED, **s)
        .add(630, EventKind.CALLBACK_REQUESTED, **s, number="+15550006")
        .add(631, EventKind.QUEUE_LEFT, **s, reason="callback", wait_s=30)
    )
    c7 = (
        call("c7", 86_400, "+15550007")
        .add(86_400, EventKind.QUEUE_ENTERED, **s)
        .add(86_402, EventKind.QUEUE_LEFT, **s, reason="abandoned", wait_s=2)
    )
    a1 = agent_states(
        "a1",
        (0, "logged_out", "ready", None),
        (2, "ready", "ringing", "c1"),
        (17, "ringing", "ready", None),
        (361, "ready", "ringing", "c4"),
        (370, "ringing", "on_call", "c4"),
        (420, "on_call", "ready", None),
        (501, "ready", "ringing", "c5"),
        (505, "ringing", "on_call", "c5"),
        (565, "on_call", "wrap_up", "c5"),
        (575, "wrap_up", "ready", None),
    )
    a2 = agent_states(
        "a2",
        (0, "logged_out", "ready", None),
        (18, "ready", "ringing", "c1"),
        (22, "ringing", "on_call", "c1"),
        (142, "on_call", "wrap_up", "c1"),
        (172, "wrap_up", "ready", None),
    )
    # the wrap-ups the agent states show, as the ACD journals them on the calls when they end
    c1.add(172, EventKind.AGENT_WRAPPED, **s, agent_id="a2", wrap_s=30)
    c5.add(575, EventKind.AGENT_WRAPPED, **s, agent_id="a1", wrap_s=10)
    return [c1, c2, c3, c4, c5, c6, c7, a1, a2]


def all_records() -> list[Record]:
    return [rec for stream in scenario() for rec in stream.records]


def interleaved() -> list[Record]:
    """The same records in time order, as the journal would deliver them."""
    return sorted(all_records(), key=lambda r: (r.at, r.call_id, r.seq))


TABLES = ("calls", "legs", "queue_calls", "agent_states", "transfers", "recordings", "dispositions")


async def dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of the projected tables, in key order (surrogate ids left out)."""
    found: dict[str, list[dict[str, Any]]] = {}
    async with db.engine.connect() as conn:
        for name in TABLES:
            table = Base.metadata.tables[name]
            columns = [c for c in table.c if c.name != "id"]
            keys = [c for c in table.primary_key.columns if c.name != "id"] or [
                table.c.stream_id,
                table.c.seq,
            ]
            result = await conn.execute(select(*columns).order_by(*keys))
            found[name] = [dict(row) for row in result.mappings()]
    return found


def test_the_streams_are_numbered_from_one() -> None:
    for stream in scenario():
        assert [r.seq for r in stream.records] == list(range(1, len(stream.records) + 1))
