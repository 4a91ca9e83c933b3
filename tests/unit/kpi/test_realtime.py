"""`RealtimeBoard`: a scripted day folded as it happens equals the SQL references (the journal
projected to SQLite and read by `queue_summary` and by the KPI engine) at every moment, across local
midnight; agents by state; and the cost of one event does not grow with the number of calls waiting."""

from __future__ import annotations

import random
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from ccapp.calls.model import CallEvent, EventKind
from ccapp.kpi.definitions import Dimension, ReportRequest, Thresholds
from ccapp.kpi.engine import build_report
from ccapp.kpi.realtime import TODAY_KPIS, RealtimeBoard, Wallboard
from ccapp.kpi.summary import queue_summary
from ccapp.storage import Database, upgrade
from ccapp.storage.outbox import decode, encode
from ccapp.storage.projection import write_batch

ZONE = "Europe/Paris"
#: 22:00 Paris time on 26 Nov 2026 (UTC+1): the scripted day crosses local midnight at 23:00 UTC
START = datetime(2026, 11, 26, 21, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
THRESHOLDS = Thresholds(sl_threshold_s=20.0, short_abandon_s=5.0)
COMPARED = (
    "entries",
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "answered_within_t",
    "service_level",
    "sl2",
    "asa_s",
    "abandon_rate",
)


class SetClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()


@dataclass
class Journal:
    """Events as journaled, each also handed to the board at once (what `AcdService.publish` does)."""

    board: RealtimeBoard
    events: list[CallEvent] = field(default_factory=list)
    seq: dict[str, int] = field(default_factory=dict)

    def record(self, call_id: str, at: datetime, kind: EventKind, **data: Any) -> None:
        self.seq[call_id] = self.seq.get(call_id, 0) + 1
        event = CallEvent(call_id, self.seq[call_id], at, kind, data)
        self.events.append(event)
        self.board.queue_event(event)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    database = Database(url)
    yield database
    await database.dispose()


async def store(db: Database, events: list[CallEvent]) -> None:
    async with db.engine.begin() as conn:
        await write_batch(conn, [decode(encode(e)) for e in events])


def scripted_day(seed: int, calls: int) -> list[tuple[datetime, Callable[[Journal], None]]]:
    """Timed actions of ``calls`` calls over three hours around local midnight: answered (some at
    exactly T), abandoned (some short, some at exactly S), overflowing to a second queue, and waits
    with and without the event's own ``wait_s``."""
    rng = random.Random(seed)
    actions: list[tuple[datetime, Callable[[Journal], None]]] = []

    def enter(call_id: str, queue: str, entry: int) -> Callable[[Journal], None]:
        def act(j: Journal) -> None:
            j.record(
                call_id, j.board._clock.now(), EventKind.QUEUE_ENTERED, queue=queue, entry=entry, priority=0
            )

        return act

    def leave(
        call_id: str, queue: str, entry: int, reason: str, wait: float, timed: bool
    ) -> Callable[[Journal], None]:
        def act(j: Journal) -> None:
            data: dict[str, Any] = {"queue": queue, "entry": entry, "reason": reason, "target": None}
            if timed:
                data["wait_s"] = wait
            j.record(call_id, j.board._clock.now(), EventKind.QUEUE_LEFT, **data)

        return act

    for n in range(calls):
        call_id = f"c{n:05d}"
        queue = rng.choice(("sales", "support"))
        at = START + timedelta(seconds=round(rng.uniform(0, 3 * 3600), 3))
        wait = rng.choice(
            (THRESHOLDS.sl_threshold_s, THRESHOLDS.short_abandon_s, round(rng.expovariate(1 / 25), 3))
        )
        if rng.random() < 0.05:
            wait = round(rng.uniform(100, 1500), 3)  # some wait across midnight
        timed = rng.random() < 0.8
        fate = rng.random()
        actions.append((at, enter(call_id, queue, 1)))
        left = at + timedelta(seconds=wait)
        if fate < 0.1:
            continue  # still waiting at the end of the script
        if fate < 0.2:
            other = "support" if queue == "sales" else "sales"
            actions.append((left, leave(call_id, queue, 1, "overflow", wait, timed)))
            actions.append((left, enter(call_id, other, 2)))
            wait2 = round(rng.expovariate(1 / 15), 3)
            reason = rng.choice(("answered", "abandoned"))
            actions.append((left + timedelta(seconds=wait2), leave(call_id, other, 2, reason, wait2, timed)))
        elif fate < 0.6:
            actions.append((left, leave(call_id, queue, 1, "answered", wait, timed)))
        elif fate < 0.95:
            actions.append((left, leave(call_id, queue, 1, "abandoned", wait, timed)))
        else:
            actions.append((left, leave(call_id, queue, 1, "callback", wait, timed)))
    actions.sort(key=lambda pair: pair[0])  # stable: an overflow's leave comes before its new entry
    return actions


async def assert_board_equals_sql(db: Database, board: Wallboard, end: datetime) -> None:
    request = ReportRequest(
        start=board.day_start,
        end=end,
        zone=ZONE,
        dimensions=(Dimension.QUEUE,),
        kpis=TODAY_KPIS,
        thresholds=THRESHOLDS,
    )
    report = await build_report(db, request, use_rollups=False, now=end)
    rows = {row.key["queue"]: row for row in report.rows}
    for figures in board.queues:
        row = rows.get(figures.queue)
        for name in TODAY_KPIS:
            want = row.kpis[name] if row is not None else None
            got = figures.today[name]
            assert got == (pytest.approx(want) if want is not None else None) or (row is None and not got), (
                name
            )
        expected = await queue_summary(
            db, figures.queue, board.day_start, end, THRESHOLDS.sl_threshold_s, THRESHOLDS.short_abandon_s
        )
        for name in COMPARED:
            want = expected[name]
            assert figures.today[name] == (pytest.approx(want) if want is not None else None), (
                figures.queue,
                name,
            )


@pytest.mark.parametrize("seed", [5, 17, 2026])
async def test_a_scripted_day_folded_live_equals_the_sql_reference_at_every_checkpoint(
    db: Database, seed: int
) -> None:
    clock = SetClock(START)
    board = RealtimeBoard(clock, zone=ZONE, thresholds=THRESHOLDS, queues=("sales", "support"))
    journal = Journal(board)
    checkpoints = [
        START + timedelta(minutes=37),
        MIDNIGHT - timedelta(seconds=1),
        MIDNIGHT,
        MIDNIGHT + timedelta(minutes=13),
        START + timedelta(hours=3, minutes=30),
    ]
    stored = 0
    actions = scripted_day(seed=seed, calls=1500)
    for checkpoint in checkpoints:
        while actions and actions[0][0] <= checkpoint:
            at, act = actions.pop(0)
            clock.at = at
            act(journal)
        clock.at = checkpoint
        await store(db, journal.events[stored:])
        stored = len(journal.events)
        snap = board.snapshot()
        assert snap.day_start == (
            START.replace(hour=23) - timedelta(days=1) if checkpoint < MIDNIGHT else MIDNIGHT
        )
        await assert_board_equals_sql(db, snap, checkpoint + timedelta(microseconds=1))
        # waiting calls are the entries that have not left, whatever their day
        open_entries = {
            (e.call_id, e.data["entry"]): e for e in journal.events if e.kind is EventKind.QUEUE_ENTERED
        }
        for e in journal.events:
            if e.kind is EventKind.QUEUE_LEFT:
                open_entries.pop((e.call_id, e.data["entry"]), None)
        for figures in snap.queues:
            mine = [e.at for e in open_entries.values() if e.data["queue"] == figures.queue]
            assert figures.waiting == len(mine)
            longest = max(((checkpoint - at).total_seconds() for at in mine), default=0.0)
            assert figures.longest_wait_s == pytest.approx(round(longest, 1), abs=0.051)
        assert snap.waiting == len(open_entries)
    # the day after midnight saw real traffic, and today's totals add up the queues
    assert snap.today["entries"] == sum(q.today["entries"] or 0 for q in snap.queues) > 100


def test_an_entry_from_before_midnight_is_waiting_after_it_but_counts_in_neither_today() -> None:
    clock = SetClock(MIDNIGHT - timedelta(seconds=30))
    board = RealtimeBoard(clock, zone=ZONE, thresholds=THRESHOLDS)
    journal = Journal(board)
    journal.record("late", clock.at, EventKind.QUEUE_ENTERED, queue="sales", entry=1)
    assert board.snapshot().queues[0].today["entries"] == 1

    clock.at = MIDNIGHT + timedelta(seconds=10)
    snap = board.snapshot()
    [sales] = snap.queues
    assert (sales.waiting, sales.longest_wait_s, sales.today["entries"]) == (1, 40.0, 0)
    journal.record(
        "late", clock.at, EventKind.QUEUE_LEFT, queue="sales", entry=1, reason="answered", wait_s=40.0
    )
    journal.record("new", clock.at, EventKind.QUEUE_ENTERED, queue="sales", entry=1)
    [sales] = board.snapshot().queues
    assert (sales.waiting, sales.today["entries"], sales.today["answered"], sales.today["service_level"]) == (
        1,
        1,
        0,
        0.0,
    )


def test_a_waiting_call_is_offered_at_once_and_service_level_follows_the_reference_formulas() -> None:
    clock = SetClock(START)
    board = RealtimeBoard(clock, zone=ZONE, thresholds=THRESHOLDS)
    j = Journal(board)
    j.record("a", START, EventKind.QUEUE_ENTERED, queue="q", entry=1)
    j.record("b", START, EventKind.QUEUE_ENTERED, queue="q", entry=1)
    j.record("c", START, EventKind.QUEUE_ENTERED, queue="q", entry=1)
    j.record("d", START, EventKind.QUEUE_ENTERED, queue="q", entry=1)
    clock.at = START + timedelta(seconds=30)
    j.record("a", clock.at, EventKind.QUEUE_LEFT, queue="q", entry=1, reason="answered", wait_s=20.0)
    j.record("b", clock.at, EventKind.QUEUE_LEFT, queue="q", entry=1, reason="abandoned", wait_s=4.999)
    j.record("c", clock.at, EventKind.QUEUE_LEFT, queue="q", entry=1, reason="answered", wait_s=30.0)
    [q] = board.snapshot().queues
    assert q.waiting == 1 and q.longest_wait_s == 30.0
    assert {k: q.today[k] for k in ("entries", "offered", "answered", "abandoned", "short_abandons")} == {
        "entries": 4,
        "offered": 3,
        "answered": 2,
        "abandoned": 0,
        "short_abandons": 1,
    }
    assert (q.today["service_level"], q.today["asa_s"], q.today["abandon_rate"]) == (
        pytest.approx(1 / 3),
        25.0,
        0.0,
    )


def test_agents_are_counted_by_state_overall_and_per_queue_membership() -> None:
    board = RealtimeBoard(SetClock(START), queues=("sales",))
    board.agent_state("a1", "logged_out", {"sales", "support"})
    board.agent_state("a2", "logged_out", {"sales"})
    board.agent_state("a3", "logged_out", ())
    board.agent_state("a1", "ready", {"sales", "support"})
    board.agent_state("a2", "on_call", {"sales"})
    board.agent_state("a2", "wrap_up", {"support"})  # redefined: now in support only
    board.agent_removed("a3")
    snap = board.snapshot()
    assert snap.agents == {"ready": 1, "wrap_up": 1}
    assert {q.queue: q.agents for q in snap.queues} == {
        "sales": {"ready": 1},
        "support": {"ready": 1, "wrap_up": 1},
    }


class LineCounter:
    """Counts the Python lines executed inside ccapp.kpi.realtime (a structural cost measure)."""

    def __init__(self) -> None:
        self.lines = 0

    def trace(self, frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code.co_filename.endswith("realtime.py"):
            if event == "line":
                self.lines += 1
            return self.trace
        return None

    def count(self, action: Callable[[], object]) -> int:
        self.lines = 0
        sys.settrace(self.trace)
        try:
            action()
        finally:
            sys.settrace(None)
        return self.lines


def event_costs(waiting: int) -> tuple[int, ...]:
    """Lines run by an entry, an abandon, the head of the line leaving and a snapshot, with
    ``waiting`` calls in line (half of a line twice as long has already left from the head)."""
    board = RealtimeBoard(SetClock(START), zone=ZONE, thresholds=THRESHOLDS, queues=("q",))
    for n in range(2 * waiting):
        board.queue_event(CallEvent(f"w{n}", 1, START, EventKind.QUEUE_ENTERED, {"queue": "q", "entry": 1}))
    for n in range(waiting):
        board.queue_event(
            CallEvent(
                f"w{n}", 2, START, EventKind.QUEUE_LEFT, {"queue": "q", "entry": 1, "reason": "answered"}
            )
        )
    assert board.waiting("q") == waiting
    counter = LineCounter()
    entered = CallEvent("x", 1, START, EventKind.QUEUE_ENTERED, {"queue": "q", "entry": 1})
    left = CallEvent("x", 2, START, EventKind.QUEUE_LEFT, {"queue": "q", "entry": 1, "reason": "abandoned"})
    head = CallEvent(
        f"w{waiting}", 2, START, EventKind.QUEUE_LEFT, {"queue": "q", "entry": 1, "reason": "answered"}
    )
    return (
        counter.count(lambda: board.queue_event(entered)),
        counter.count(lambda: board.queue_event(left)),
        counter.count(lambda: board.queue_event(head)),
        counter.count(board.snapshot),
    )


def test_the_cost_of_one_event_does_not_grow_with_the_calls_waiting() -> None:
    assert event_costs(10) == event_costs(50_000)
