"""The golden KPI data set, shared by the SQLite (unit) and PostgreSQL (integration) engine tests.

Rows are inserted straight into the projected tables (the projection has its own tests; here the
point is the report). Thresholds T = 20 s, S = 5 s, W = 7 days. The main period is two local days in
Europe/Paris around the switch to summer time: ``[2026-03-27 23:00Z, 2026-03-29 22:00Z)`` is Paris
28 March (24 h) and 29 March (23 h: clocks jump from 02:00 to 03:00, 01:00Z). New York is on UTC-4
all along (its DST started on 8 March).

Queue entries (``queue_calls``; wait = wait_s, handle = talk + hold + wrap):

====  =======  ==================  =========  ======  =====  =============================
id    queue    entered (UTC)       outcome    wait    agent  handled / notes
====  =======  ==================  =========  ======  =====  =============================
q1    sales    28 10:00            answered   12.5    a1     100 + 20 + 30 = 150, skill en
q13   support  28 10:03 (c1 #2)    answered   5       a2     50 + 10 = 60, skill en
q2    sales    28 10:05            answered   25      a2     200 (no hold, no wrap), fr
q3    sales    28 10:10            abandoned  3              short abandon, en
q4    sales    28 10:15            abandoned  15             within T
q5    sales    28 23:30            abandoned  40
q6    support  29 01:30            answered   20      a1     60 + 0 + 10 = 70 (wait = T: in SL)
q7    support  29 12:00            callback   30             callback requested
q8    sales    29 12:30            answered   NULL    a2     40 + 5 = 45 (no wait: not timed)
q12   support  29 13:00            answered   8       a1     talk not over: not handled
q9    sales    29 21:59:59.999999  abandoned  4.999          short abandon, last µs in
q10   sales    29 22:00            answered   10      a1     outside (end is exclusive)
q11   sales    27 22:59:59         abandoned  50             outside (before start)
====  =======  ==================  =========  ======  =====  =============================

Totals: entries 11, short 2, answered 6, answered within T 4 (q1 q13 q6 q12), all abandoned 4,
abandoned within T 3 (q3 q4 q9), answered timed 5, waits 70.5 s, handled 5, handle 525 s, callbacks 1
→ offered 9, SL 4/9, SL2 (4 + 3) / (6 + 4) = 0.7, ASA 14.1 s, abandon rate 2/9, AHT 105 s, callback 1/9.

Contacts (``contacts``, links set as the projection keeps them): handled 8, resolved-without-repeat 4
(k2 k5 k6 k7), first 5 (k1 k3 k4 k7 k9), first resolved 1 (k7) → resolution 0.5, FCR 0.2. Repeats
across midnight (k1 → k2 across the day, k4 → k5 across Paris midnight), exactly W after (a repeat),
W ± 1 µs before/after.

Transfers: t1 correct (c1, sales), t2 wrong (c2, sales), t3 unjudged (c6, support), t4 correct (x9,
no queue entry) → transfer rate 4/5, escalation accuracy 2/4.

IVR: v1 (hangup) and v4 (voicemail) contained; v2 (exit to a queue), c1 (queued), x9 (transferred)
not; v6 ran no tree; v7 outside → containment 2/5.

Agent time (now after the period): a1 handling 6590 s, ready 37810 s, logged in 45000 s (a ready
span from before the start, an on-call span across Paris midnight, a session that ended without
logout stopped by the next session's first row); a2 2400 / 4800 / 7200 (3600 s of it on campaign
winter); a3 ready 3600 s on winter until the end → occupancy 8990 / 55200, utilization 8990 / 55800.

Outbound: 7 attempts, leads 5 (L1 L2 L3 L4 L6), RPC leads 2 (L1 L4), RPC contacts 2, agent contacts
4, live answers 5, live abandoned 1, campaign logged-in 7200 s → RPC rate 0.4, RPC/h 1.0, contacts/h
2.0, live abandon rate 0.2.

Far from that period, two entries on New York's 25-hour day (1 November 2026): f1 at 01:30 EDT and
f2 (a short abandon) at 01:30 EST, an hour later.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from ccapp.kpi.definitions import KPIS, Dimension, Interval, ReportRequest, Thresholds
from ccapp.storage import Database
from ccapp.storage.models import Base

PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
START = datetime(2026, 3, 27, 23, 0, tzinfo=UTC)
END = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
#: the wide period of the two-zones test: whole local days in both zones and then some
WIDE = (datetime(2026, 3, 27, 0, 0, tzinfo=UTC), datetime(2026, 3, 31, 0, 0, tzinfo=UTC))
NOW = datetime(2026, 4, 1, tzinfo=UTC)
#: New York's local midnight before its clocks go back (2026-11-01 00:00 EDT)
FALL_BACK = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
THRESHOLDS = Thresholds(20.0, 5.0, 7 * 86400.0)
ALL_KPIS = tuple(k.name for k in KPIS)
W = timedelta(days=7)
US = timedelta(microseconds=1)


def utc(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """A UTC instant in March 2026 (April when ``day`` > 31)."""
    return datetime(2026, 3, 1, tzinfo=UTC) + timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second, microseconds=micro
    )


def request(
    by: tuple[Dimension, ...] = (),
    interval: Interval | None = None,
    *,
    zone: str = PARIS,
    period: tuple[datetime, datetime] = (START, END),
    kpis: tuple[str, ...] = ALL_KPIS,
    where: dict[str, str] | None = None,
) -> ReportRequest:
    return ReportRequest(
        start=period[0],
        end=period[1],
        zone=zone,
        dimensions=by,
        interval=interval,
        kpis=kpis,
        thresholds=THRESHOLDS,
        where=where or {},
    )


def _q(
    call_id: str, entry: int, queue: str, at: datetime, outcome: str, wait: float | None, **kw: Any
) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "entry": entry,
        "queue": queue,
        "entered_at": at,
        "outcome": outcome,
        "wait_s": wait,
    } | kw


def _handled(
    agent: str, at: datetime, wait: float, talk: float, hold: float | None, wrap: float | None
) -> dict[str, Any]:
    return {
        "agent_id": agent,
        "connected_at": at + timedelta(seconds=wait),
        "talk_s": talk,
        "hold_s": hold,
        "wrap_s": wrap,
    }


QUEUE_CALLS = [
    _q(
        "c1",
        1,
        "sales",
        utc(28, 10),
        "answered",
        12.5,
        skill="en",
        **_handled("a1", utc(28, 10), 12.5, 100, 20, 30),
    ),
    _q(
        "c1",
        2,
        "support",
        utc(28, 10, 3),
        "answered",
        5,
        skill="en",
        **_handled("a2", utc(28, 10, 3), 5, 50, None, 10),
    ),
    _q(
        "c2",
        1,
        "sales",
        utc(28, 10, 5),
        "answered",
        25,
        skill="fr",
        **_handled("a2", utc(28, 10, 5), 25, 200, None, None),
    ),
    _q("c3", 1, "sales", utc(28, 10, 10), "abandoned", 3, skill="en"),
    _q("c4", 1, "sales", utc(28, 10, 15), "abandoned", 15),
    _q("c5", 1, "sales", utc(28, 23, 30), "abandoned", 40),
    _q(
        "c6",
        1,
        "support",
        utc(29, 1, 30),
        "answered",
        20,
        skill="en",
        **_handled("a1", utc(29, 1, 30), 20, 60, 0, 10),
    ),
    _q("c7", 1, "support", utc(29, 12), "callback", 30, callback=True),
    _q(
        "c8",
        1,
        "sales",
        utc(29, 12, 30),
        "answered",
        None,
        agent_id="a2",
        connected_at=utc(29, 12, 30, 20),
        talk_s=40,
        wrap_s=5,
    ),
    _q("c12", 1, "support", utc(29, 13), "answered", 8, agent_id="a1", connected_at=utc(29, 13, 0, 8)),
    _q("c9", 1, "sales", utc(29, 21, 59, 59, 999999), "abandoned", 4.999),
    _q("c10", 1, "sales", utc(29, 22), "answered", 10, **_handled("a1", utc(29, 22), 10, 30, None, None)),
    _q("c11", 1, "sales", utc(27, 22, 59, 59), "abandoned", 50),
    # New York's fall-back night, far from the other periods: 01:30 EDT, then 01:30 EST
    _q("f1", 1, "sales", FALL_BACK + timedelta(minutes=90), "answered", 4),
    _q("f2", 1, "sales", FALL_BACK + timedelta(minutes=150), "abandoned", 2),
]


def _k(
    call_id: str,
    number: str,
    topic: str,
    at: datetime,
    queue: str,
    agent: str,
    *,
    handled: bool = True,
    resolved: bool | None = True,
    prev: datetime | None = None,
    nxt: datetime | None = None,
) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller_number": number,
        "topic": topic,
        "started_at": at,
        "queue": queue,
        "agent_id": agent,
        "handled": handled,
        "resolved": resolved,
        "prev_at": prev,
        "next_at": nxt,
    }


CONTACTS = [
    _k("c1", "+111", "billing", utc(28, 10), "sales", "a1", nxt=utc(29, 9)),  # repeated next day
    _k("k2", "+111", "billing", utc(29, 9), "sales", "a2", prev=utc(28, 10)),  # resolved, not first
    _k(
        "k3",
        "+222",
        "billing",
        utc(28, 22, 30),
        "support",
        "a1",
        prev=utc(20, 22, 30),
        nxt=utc(28, 22, 30) + W,
    ),
    _k("k4", "+333", "tech", utc(28, 22, 50), "sales", "a2", resolved=False, nxt=utc(28, 23, 10)),
    _k("k5", "+333", "tech", utc(28, 23, 10), "sales", "a1", prev=utc(28, 22, 50)),  # across Paris midnight
    _k("k6", "+444", "billing", utc(29, 12), "support", "a1", prev=utc(29, 12) - W + US),
    _k(
        "k7",
        "+555",
        "tech",
        utc(29, 13),
        "support",
        "a1",
        prev=utc(29, 13) - W - US,
        nxt=utc(29, 13) + W + US,
    ),
    _k("k8", "+666", "tech", utc(29, 14), "sales", "a2", handled=False, resolved=None),
    _k("k9", "+777", "billing", utc(29, 15), "sales", "a2", resolved=None),
    _k("k10", "+888", "tech", utc(29, 22), "sales", "a2"),  # outside
]


def _t(call_id: str, at: datetime, by: str, topic: str | None, correct: bool | None) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "seq": 1,
        "at": at,
        "by_agent": by,
        "topic": topic,
        "correct": correct,
        "kind": "blind",
    }


TRANSFERS = [
    _t("c1", utc(28, 10, 2), "a1", "billing", True),  # c1's entry 2 (support) starts after it: sales
    _t("c2", utc(28, 10, 9), "a2", "tech", False),
    _t("c6", utc(29, 1, 33), "a1", None, None),
    _t("x9", utc(29, 16), "a2", "billing", True),  # no queue entry: queue None
    _t("c10", utc(29, 22, 1), "a1", "tech", True),  # outside
]

#: call id, started, IVR events as (kind, data)
IVR_CALLS: list[tuple[str, datetime, list[tuple[str, dict[str, Any]]]]] = [
    (
        "v1",
        utc(28, 9),
        [("ivr.node", {"tree": "main", "node": "welcome"}), ("ivr.exit", {"outcome": "hangup"})],
    ),
    (
        "v2",
        utc(28, 9, 10),
        [("ivr.node", {"tree": "main", "node": "welcome"}), ("ivr.exit", {"outcome": "queue"})],
    ),
    ("c1", utc(28, 9, 59, 30), [("ivr.node", {"tree": "main", "node": "welcome"})]),
    (
        "v4",
        utc(29, 10),
        [("ivr.node", {"tree": "main", "node": "menu"}), ("ivr.exit", {"outcome": "voicemail"})],
    ),
    (
        "x9",
        utc(29, 15, 59),
        [("ivr.node", {"tree": "main", "node": "menu"}), ("ivr.exit", {"outcome": "hangup"})],
    ),
    ("v6", utc(29, 11), [("prompt", {"prompts": ["hello"]})]),
    ("v7", utc(30, 10), [("ivr.node", {"tree": "main", "node": "welcome"})]),
]


def _s(
    agent: str, session: str, seq: int, at: datetime, state: str, campaign: str | None = None
) -> dict[str, Any]:
    return {
        "stream_id": f"agent:{agent}:{session}",
        "seq": seq,
        "agent_id": agent,
        "at": at,
        "to_state": state,
        "campaign": campaign,
    }


AGENT_STATES = [
    _s("a1", "s1", 1, utc(27, 22), "ready"),  # 1800 s ready in the period
    _s("a1", "s1", 2, utc(27, 23, 30), "on_call"),  # 2700
    _s("a1", "s1", 3, utc(28, 0, 15), "wrap_up"),  # 300
    _s("a1", "s1", 4, utc(28, 0, 20), "not_ready"),  # 600 logged in only
    _s("a1", "s1", 5, utc(28, 0, 30), "logged_out"),
    _s("a1", "s2", 1, utc(28, 22), "ready"),  # 2700
    _s("a1", "s2", 2, utc(28, 22, 45), "ringing"),  # 10
    _s("a1", "s2", 3, utc(28, 22, 45, 10), "on_call"),  # 890 + 890 across Paris midnight
    _s("a1", "s2", 4, utc(28, 23, 14, 50), "ready"),  # stream ends without logout: 31510 until s3
    _s("a1", "s3", 1, utc(29, 8), "ready"),  # 1800
    _s("a1", "s3", 2, utc(29, 8, 30), "on_call"),  # 1800
    _s("a1", "s3", 3, utc(29, 9), "logged_out"),
    _s("a2", "s1", 1, utc(29, 12), "ready", "winter"),  # 1200
    _s("a2", "s1", 2, utc(29, 12, 20), "on_call", "winter"),  # 1800
    _s("a2", "s1", 3, utc(29, 12, 50), "wrap_up", "winter"),  # 600
    _s("a2", "s1", 4, utc(29, 13), "ready"),  # 3600, no campaign
    _s("a2", "s1", 5, utc(29, 14), "logged_out"),
    _s("a3", "s1", 1, utc(29, 21), "ready", "winter"),  # until the end: 3600
]


def _d(
    attempt: str,
    lead: str,
    campaign: str,
    at: datetime,
    result: str,
    *,
    agent: str | None = None,
    connected: bool = False,
    right_party: bool | None = None,
    abandoned: bool = False,
) -> dict[str, Any]:
    return {
        "attempt_id": attempt,
        "campaign_id": campaign,
        "lead_id": lead,
        "started_at": at,
        "result": result,
        "agent_id": agent,
        "connected_at": at + timedelta(seconds=5) if connected else None,
        "right_party": right_party,
        "abandoned": abandoned,
    }


DIAL_ATTEMPTS = [
    _d("d1", "L1", "winter", utc(29, 12, 5), "human", agent="a2", connected=True, right_party=False),
    _d("d2", "L1", "winter", utc(29, 12, 25), "human", agent="a2", connected=True, right_party=True),
    _d("d3", "L2", "winter", utc(29, 12, 30), "human", abandoned=True),
    _d("d4", "L3", "winter", utc(29, 12, 40), "machine"),
    _d("d5", "L4", "winter", utc(29, 21, 10), "human", agent="a3", connected=True, right_party=True),
    _d("d6", "L5", "winter", utc(27, 22), "human", agent="a3", connected=True, right_party=True),  # outside
    _d("d7", "L2", "winter", utc(29, 21, 30), "human", agent="a3", connected=True, right_party=False),
    _d("d8", "L6", "spring", utc(28, 10), "busy", agent="a1"),
]


async def load(db: Database) -> None:
    """Insert the golden rows."""
    t = Base.metadata.tables
    async with db.engine.begin() as conn:
        for table, rows in (
            ("queue_calls", QUEUE_CALLS),
            ("contacts", CONTACTS),
            ("transfers", TRANSFERS),
            ("agent_states", AGENT_STATES),
            ("dial_attempts", DIAL_ATTEMPTS),
        ):
            for row in rows:
                await conn.execute(insert(t[table]).values(**row))
        for call_id, started, evs in IVR_CALLS:
            await conn.execute(insert(t["calls"]).values(call_id=call_id, started_at=started))
            for seq, (kind, data) in enumerate(evs, start=1):
                at = started + timedelta(seconds=seq)
                await conn.execute(
                    insert(t["call_events"]).values(call_id=call_id, seq=seq, at=at, kind=kind, data=data)
                )
