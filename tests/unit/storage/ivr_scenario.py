"""Hand-built IVR journals for the IVR report tests (SQLite unit tests and PostgreSQL integration).

`journal_scenario` writes eleven calls through a real journal; `EXPECTED` is the report of November
2026 in Europe/Berlin worked out by hand from the table below. `synthetic_records` makes many calls
quickly (as stored records) for the timing tests.

    call  start (UTC)      tree         journey                                         exit
    c1    11-10 09:00      main v3      welcome, menu, 1, sales                         queue
    c2    11-10 09:05      main v3      welcome, menu, timeout, no-match 7, 2, support  queue
    c3    11-10 09:10      main v3      welcome, menu                                   hung up in menu
    c4    11-10 09:15      main v3      welcome, menu, 3, pin, ****, menu, 1, sales     queue
    c5    11-10 09:20      main v3      welcome, menu, timeout ×3                       max_tries in menu
    c6    11-10 09:25      main v3      welcome                                         hung up in welcome
    c7    11-10 22:00      after_hours  closed                                          voicemail
    c8    11-11 08:00      -            no IVR (outbound)                               -
    c9    10-31 22:59:59   main v3      welcome, menu, 1, sales — before the period     queue
    c10   10-31 23:00      main v3      welcome, menu, "support" (speech), support      queue
    c11   11-30 23:00      main v3      welcome — the period's end, excluded            error
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ccapp.calls.call import Call
from ccapp.calls.model import Direction, EventKind, Leg, Via
from ccapp.calls.ports import CallJournal
from ccapp.clock import FakeClock
from ccapp.storage import Database, SqlJournal
from ccapp.storage.outbox import Record
from ccapp.storage.projection import write_batch

BERLIN = ZoneInfo("Europe/Berlin")
#: November 2026 in Berlin (CET, UTC+1): 2026-10-31 23:00 UTC up to 2026-11-30 23:00 UTC.
START = datetime(2026, 11, 1, tzinfo=BERLIN)
END = datetime(2026, 12, 1, tzinfo=BERLIN)

Step = tuple[EventKind, dict[str, Any]]


def node(name: str, type_: str) -> Step:
    return EventKind.IVR_NODE, {"node": name, "type": type_}


def entered(name: str, value: str, mode: str = "dtmf", confidence: float | None = None) -> Step:
    return EventKind.IVR_INPUT, {"node": name, "mode": mode, "input": value, "confidence": confidence}


def timeout(name: str, attempt: int) -> Step:
    return EventKind.IVR_TIMEOUT, {"node": name, "attempt": attempt}


def no_match(name: str, attempt: int, value: str) -> Step:
    return EventKind.IVR_NO_MATCH, {"node": name, "attempt": attempt, "mode": "dtmf", "input": value}


def leave(name: str, outcome: str, target: str | None = None) -> Step:
    return EventKind.IVR_EXIT, {"node": name, "outcome": outcome, "target": target}


def journal_call(
    journal: CallJournal,
    call_id: str,
    at: datetime,
    steps: list[Step],
    *,
    tree: str = "main",
    version: int | str = 3,
) -> None:
    """One inbound call through ``tree``: start, the IVR ``steps`` one second apart, end."""
    clock = FakeClock(at)
    call = Call(
        journal=journal,
        clock=clock,
        direction=Direction.INBOUND,
        via=Via.ARI,
        entry="inbound/main",
        call_id=call_id,
    )
    call.start(Leg(f"{call_id}-a", f"PJSIP/caller-{call_id}", caller_number="+4930100"), called_number="100")
    for kind, data in steps:
        clock.advance(1)
        extra = {"version": version} if kind == EventKind.IVR_NODE else {}
        call.record(kind, {"tree": tree, **data, **extra})
    clock.advance(1)
    call.end(16, None, "ivr")


def journal_scenario(journal: CallJournal) -> None:
    """The eleven calls of the module docstring."""
    nov10 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    welcome, menu = node("welcome", "play"), node("menu", "menu")
    journal_call(
        journal,
        "c1",
        nov10,
        [welcome, menu, entered("menu", "1"), node("sales", "queue"), leave("sales", "queue", "sales")],
    )
    journal_call(
        journal,
        "c2",
        nov10 + timedelta(minutes=5),
        [
            welcome,
            menu,
            timeout("menu", 1),
            no_match("menu", 2, "7"),
            entered("menu", "2"),
            node("support", "queue"),
            leave("support", "queue", "support"),
        ],
    )
    journal_call(
        journal, "c3", nov10 + timedelta(minutes=10), [welcome, menu, leave("menu", "caller_hangup")]
    )
    journal_call(
        journal,
        "c4",
        nov10 + timedelta(minutes=15),
        [
            welcome,
            menu,
            entered("menu", "3"),
            node("pin", "collect"),
            entered("pin", "****"),
            menu,
            entered("menu", "1"),
            node("sales", "queue"),
            leave("sales", "queue", "sales"),
        ],
    )
    journal_call(
        journal,
        "c5",
        nov10 + timedelta(minutes=20),
        [
            welcome,
            menu,
            timeout("menu", 1),
            timeout("menu", 2),
            timeout("menu", 3),
            leave("menu", "max_tries"),
        ],
    )
    journal_call(journal, "c6", nov10 + timedelta(minutes=25), [welcome, leave("welcome", "caller_hangup")])
    journal_call(
        journal,
        "c7",
        datetime(2026, 11, 10, 22, 0, tzinfo=UTC),
        [node("closed", "play"), leave("closed", "voicemail", "general")],
        tree="after_hours",
        version="1",
    )
    journal_call(journal, "c8", datetime(2026, 11, 11, 8, 0, tzinfo=UTC), [])
    journal_call(
        journal,
        "c9",
        datetime(2026, 10, 31, 22, 59, 59, tzinfo=UTC),
        [
            welcome,
            menu,
            entered("menu", "1"),
            node("sales", "queue"),
            leave("sales", "queue", "sales"),
        ],
    )
    journal_call(
        journal,
        "c10",
        datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
        [
            welcome,
            menu,
            entered("menu", "support", "speech", 0.82),
            node("support", "queue"),
            leave("support", "queue", "support"),
        ],
    )
    journal_call(
        journal, "c11", datetime(2026, 11, 30, 23, 0, tzinfo=UTC), [welcome, leave("welcome", "error")]
    )


def _node(
    name: str,
    type_: str,
    entries: int,
    calls: int,
    inputs: int = 0,
    timeouts: int = 0,
    no_matches: int = 0,
    drop_offs: int = 0,
    **exits: int,
) -> dict[str, Any]:
    return {
        "node": name,
        "type": type_,
        "entries": entries,
        "calls": calls,
        "inputs": inputs,
        "timeouts": timeouts,
        "no_matches": no_matches,
        "drop_offs": drop_offs,
        "exits": exits,
    }


#: `ccapp.ivr.report.to_dict` of the scenario for November 2026 in Berlin, all trees, top 10.
EXPECTED: dict[str, Any] = {
    "from": "2026-11-01T00:00:00+01:00",
    "to": "2026-12-01T00:00:00+01:00",
    "tree": None,
    "calls_started": 9,  # c1-c8 and c10
    "trees": [
        {
            "tree": "after_hours",
            "calls": 1,
            "versions": ["1"],
            "outcomes": {"voicemail": 1},
            "nodes": [_node("closed", "play", 1, 1, voicemail=1)],
            "distinct_paths": 1,
            "paths": [{"path": "closed", "calls": 1, "share": 100.0}],
        },
        {
            "tree": "main",
            "calls": 7,  # c1-c6, c10
            "versions": ["3"],
            "outcomes": {"queue": 4, "caller_hangup": 2, "max_tries": 1},
            # walk order: the earliest step each node was entered at, then by name
            "nodes": [
                _node("welcome", "play", 7, 7, drop_offs=1, caller_hangup=1),
                _node(
                    "menu",
                    "menu",
                    7,
                    6,
                    inputs=5,
                    timeouts=4,
                    no_matches=1,
                    drop_offs=1,
                    caller_hangup=1,
                    max_tries=1,
                ),
                _node("pin", "collect", 1, 1, inputs=1),
                _node("sales", "queue", 2, 2, queue=2),
                _node("support", "queue", 2, 2, queue=2),
            ],
            "distinct_paths": 5,
            "paths": [
                {"path": "welcome > menu", "calls": 2, "share": 28.57},
                {"path": "welcome > menu > support", "calls": 2, "share": 28.57},
                {"path": "welcome", "calls": 1, "share": 14.29},
                {"path": "welcome > menu > pin > menu > sales", "calls": 1, "share": 14.29},
                {"path": "welcome > menu > sales", "calls": 1, "share": 14.29},
            ],
        },
    ],
}

# -- many calls ------------------------------------------------------------------------------------

#: Node sequences of the synthetic calls with their exit, and how often each is drawn.
_JOURNEYS: list[tuple[int, list[Step]]] = [
    (
        40,
        [
            node("welcome", "play"),
            node("menu", "menu"),
            entered("menu", "1"),
            node("sales", "queue"),
            leave("sales", "queue", "sales"),
        ],
    ),
    (
        25,
        [
            node("welcome", "play"),
            node("menu", "menu"),
            timeout("menu", 1),
            entered("menu", "2"),
            node("support", "queue"),
            leave("support", "queue", "support"),
        ],
    ),
    (15, [node("welcome", "play"), node("menu", "menu"), leave("menu", "caller_hangup")]),
    (
        10,
        [
            node("welcome", "play"),
            node("menu", "menu"),
            entered("menu", "3"),
            node("pin", "collect"),
            entered("pin", "****"),
            node("balance", "play"),
            leave("balance", "hangup"),
        ],
    ),
    (
        7,
        [
            node("welcome", "play"),
            node("menu", "menu"),
            no_match("menu", 1, "9"),
            timeout("menu", 2),
            timeout("menu", 3),
            leave("menu", "max_tries"),
        ],
    ),
    (3, [node("welcome", "play"), leave("welcome", "caller_hangup")]),
]


def synthetic_records(n: int, start: datetime, span: timedelta, seed: int = 7) -> Iterator[Record]:
    """``n`` calls started at random in ``[start, start + span)``: call.started, IVR events, call.ended."""
    rng = random.Random(seed)
    weights = [w for w, _ in _JOURNEYS]
    for i in range(n):
        call_id = f"s{i:06d}"
        at = start + timedelta(seconds=rng.uniform(0, span.total_seconds()))
        _, steps = rng.choices(_JOURNEYS, weights)[0]
        seq = 1
        yield Record(
            call_id,
            seq,
            at,
            "call.started",
            {"direction": "inbound", "via": "ari", "entry": "inbound/main", "caller_number": "+4930100"},
        )
        for kind, data in steps:
            seq += 1
            at += timedelta(seconds=2)
            extra = {"version": 3} if kind == EventKind.IVR_NODE else {}
            yield Record(call_id, seq, at, str(kind), {"tree": "main", **data, **extra})
        yield Record(
            call_id,
            seq + 1,
            at + timedelta(seconds=1),
            "call.ended",
            {"cause": 16, "cause_text": None, "outcome": "ivr"},
        )


async def store_scenario(db: Database, outbox: Path) -> None:
    """Write the scenario's calls through the real `SqlJournal`."""
    journal = SqlJournal(db, outbox)
    await journal.start()
    journal_scenario(journal)
    await journal.flush()
    await journal.stop()


async def store_synthetic(db: Database, n: int) -> tuple[datetime, datetime]:
    """``n`` synthetic calls spread over November 2026 (UTC); returns that period."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    records = list(synthetic_records(n, start, timedelta(days=30)))
    async with db.engine.begin() as conn:
        for i in range(0, len(records), 5000):
            await write_batch(conn, records[i : i + 5000])
    return start, start + timedelta(days=30)
