"""The wallboard on the real `AcdService` (fake telephony, a clock just before local midnight): at
several moments its figures equal the journal projected to SQLite and read by ``queue_summary`` and
by the KPI engine, and its waiting calls and agent states equal the ACD's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ccapp.acd.fakes import AcdBed, eventually
from ccapp.acd.model import Agent
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind as K
from ccapp.config.settings import QueueSettings
from ccapp.kpi.definitions import Dimension, ReportRequest, Thresholds
from ccapp.kpi.engine import build_report
from ccapp.kpi.realtime import TODAY_KPIS, RealtimeBoard, Wallboard
from ccapp.kpi.summary import queue_summary
from ccapp.storage import Database, upgrade
from ccapp.storage.outbox import decode, encode
from ccapp.storage.projection import write_batch

ZONE = "America/New_York"
#: local midnight of 27 Nov 2026 in New York (UTC-5)
MIDNIGHT = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
#: short real-time thresholds: T 0.4 s, S 0.15 s
THRESHOLDS = Thresholds(sl_threshold_s=0.4, short_abandon_s=0.15)
MEASURES = (
    "entries",
    "short_abandons",
    "answered",
    "answered_within_t",
    "all_abandoned",
    "abandoned_within_t",
    "answered_timed",
    "answered_wait_s",
)


class NearMidnight:
    """Real time, shifted so that local midnight comes ``before_s`` seconds after the start."""

    def __init__(self, before_s: float) -> None:
        self._base = MIDNIGHT - timedelta(seconds=before_s)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._mono)

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    database = Database(url)
    yield database
    await database.dispose()


class Checker:
    """Stores the bed's new journal events and compares the board with SQL and with the ACD."""

    def __init__(self, bed: AcdBed, board: RealtimeBoard, db: Database) -> None:
        self.bed, self.board, self.db = bed, board, db
        self.stored = 0
        self.boards: list[Wallboard] = []

    async def check(self) -> Wallboard:
        events = self.bed.journal.events[self.stored :]
        self.stored += len(events)
        async with self.db.engine.begin() as conn:
            await write_batch(conn, [decode(encode(e)) for e in events])
        snap = self.board.snapshot()
        end = snap.at + timedelta(microseconds=1)
        report = await build_report(
            self.db,
            ReportRequest(
                start=snap.day_start,
                end=end,
                zone=ZONE,
                dimensions=(Dimension.QUEUE,),
                kpis=TODAY_KPIS,
                thresholds=THRESHOLDS,
            ),
            use_rollups=False,
            now=end,
        )
        rows = {row.key["queue"]: row for row in report.rows}
        for figures in snap.queues:
            summary = await queue_summary(
                self.db,
                figures.queue,
                snap.day_start,
                end,
                THRESHOLDS.sl_threshold_s,
                THRESHOLDS.short_abandon_s,
            )
            for name in (
                "entries",
                "offered",
                "answered",
                "abandoned",
                "short_abandons",
                "answered_within_t",
            ):
                assert figures.today[name] == summary[name], (figures.queue, name)
            for name in ("service_level", "sl2", "asa_s", "abandon_rate"):
                want = summary[name]
                assert figures.today[name] == (None if want is None else pytest.approx(want)), (
                    figures.queue,
                    name,
                )
            row = rows.get(figures.queue)
            engine = {m: (row.measures.get(m, 0.0) if row else 0.0) for m in MEASURES}
            assert {m: figures.today[m] for m in MEASURES} == pytest.approx(engine), figures.queue
            if row is not None:
                for name in TODAY_KPIS:
                    want = row.kpis[name]
                    assert figures.today[name] == (None if want is None else pytest.approx(want)), name
        # live figures: the ACD's own (no callbacks here, so its line is the board's waiting calls)
        views = {v.name: v for v in self.bed.service.queues()}
        for figures in snap.queues:
            view = views[figures.queue]
            assert figures.waiting == view.waiting
            assert figures.longest_wait_s == pytest.approx(view.longest_wait_s, abs=0.25)
            assert figures.agents == view.agents_by_state
        states: dict[str, int] = {}
        for agent in self.bed.service.agents():
            states[agent.state] = states.get(agent.state, 0) + 1
        assert snap.agents == dict(sorted(states.items()))
        self.boards.append(snap)
        return snap


def queue(**kw: Any) -> QueueSettings:
    return QueueSettings(**{"ring_timeout_s": 0.3, "wrap_up_s": 0.1, "announce_every_s": None, **kw})


def left(bed: AcdBed, call: Call, queue: str) -> bool:
    return any(e["queue"] == queue for e in bed.events(call, K.QUEUE_LEFT))


async def test_the_board_equals_sql_and_the_acd_before_and_after_local_midnight(db: Database) -> None:
    queues = {"sales": queue(), "support": queue(overflow="sales")}  # support has no agents: overflows
    agents = [Agent("a1", "A1", "PJSIP/a1", queues=frozenset({"sales"})), Agent("a2", "A2", "PJSIP/a2")]
    clock = NearMidnight(before_s=1.5)
    async with AcdBed(queues, agents, clock=clock) as bed:
        board = RealtimeBoard(clock, zone=ZONE, thresholds=THRESHOLDS, queues=queues)
        bed.service.listen(board)
        checker = Checker(bed, board, db)
        await bed.login("a1")
        await bed.service.login("a2", ready=False, reason="break")

        # before midnight: one answered at once, two waiting, a short abandon, an overflow
        _, a_caller, _ = bed.enter("sales")
        await eventually(lambda: bed.state("a1") == "on_call")
        b, b_caller, _ = bed.enter("sales")
        c, c_caller, _ = bed.enter("sales")
        c_caller.hang_up_after(0.03)
        d, d_caller, _ = bed.enter("support")
        await eventually(
            lambda: left(bed, c, "sales") and bed.events(d, K.QUEUE_ENTERED)[-1]["queue"] == "sales"
        )
        before = await checker.check()
        assert before.day_start == MIDNIGHT - timedelta(days=1)
        assert [(q.queue, q.waiting, q.today["entries"]) for q in before.queues] == [
            ("sales", 2, 4),
            ("support", 0, 1),
        ]
        assert before.queues[0].today["short_abandons"] == 1

        # after midnight: yesterday's callers still wait but count in no "today"
        await asyncio.sleep(max(0.0, (MIDNIGHT - clock.now()).total_seconds()) + 0.05)
        after = await checker.check()
        assert after.day_start == MIDNIGHT
        assert [(q.waiting, q.today["entries"]) for q in after.queues] == [(2, 0), (0, 0)]
        assert after.queues[0].longest_wait_s > 1.0

        # a new caller; yesterday's two are answered in turn, then today's; one abandons (not short)
        e, e_caller, _ = bed.enter("sales")
        f, f_caller, _ = bed.enter("sales")
        f_caller.hang_up_after(0.2)
        for done, nxt in ((a_caller, b), (b_caller, d), (d_caller, e)):
            done.hang_up()
            await eventually(lambda nxt=nxt: bed.events(nxt, K.AGENT_CONNECTED), what="next caller answered")
        await eventually(lambda: left(bed, f, "sales"))
        last = await checker.check()
        sales = last.queues[0]
        assert (sales.waiting, sales.today["entries"], sales.today["answered"]) == (0, 2, 1)
        assert (sales.today["abandoned"], sales.today["short_abandons"]) == (1, 0)
        assert last.agents == {"not_ready": 1, "on_call": 1}
        e_caller.hang_up()
        await eventually(lambda: bed.state("a1") == "ready")
        assert board.snapshot().agents == {"not_ready": 1, "ready": 1}


async def test_a_caller_waiting_when_ccapp_stops_leaves_the_queue_and_the_board() -> None:
    queues = {"sales": queue()}
    agents = [Agent("a1", "A1", "PJSIP/a1", queues=frozenset({"sales"}))]
    async with AcdBed(queues, agents) as bed:
        board = RealtimeBoard(bed.clock, thresholds=THRESHOLDS, queues=queues)
        bed.service.listen(board)
        await bed.service.login("a1", ready=False, reason="break")
        call, _, task = bed.enter("sales")
        await eventually(lambda: board.waiting("sales") == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [e["reason"] for e in bed.events(call, K.QUEUE_LEFT)] == ["shutdown"]
        assert board.snapshot().queues[0].waiting == 0
        assert bed.service.queues()[0].waiting == 0
