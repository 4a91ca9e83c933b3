"""In-memory fakes of the dialer's telephony port (`ccapp.dialer.ports`) and `DialerBed`, a
`DialerService` on them, on the ACD's fakes (`ccapp.acd.fakes`) and on a SQLite file database.

`FakeOutbound.originate` keeps every dial (dial string, variables, wall and monotonic time) and
returns a `FakeLine` that follows the `LineScript` of its number: answer, fail with a Q.850 cause,
ring until told, hang up while AMD listens. The AMD verdict comes back as it does from the dialplan:
as a *new* call routed to `ccapp.dialer.connect.outbound_route` — `DialerBed.hand_back` builds that
call (a `Call` and an ACD `FakeCaller`) and runs the route in a task; a script with a ``verdict``
does so by itself once the line is in AMD. Timers run on the event loop (real seconds), as in the
ACD's fakes: tests use small delays. `ShiftedClock` lets a test move the wall clock (calling windows,
retry times) without touching the monotonic one the timers follow.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import insert, select

from ccapp.acd.fakes import AcdBed, FakeCaller, Script
from ccapp.acd.model import Agent
from ccapp.calls.call import Call
from ccapp.calls.model import Direction, Via
from ccapp.calls.model import Leg as CallLeg
from ccapp.config.campaigns import CampaignSettings
from ccapp.config.settings import QueueSettings
from ccapp.dialer.ports import LineAnswer
from ccapp.dialer.service import DialerService
from ccapp.errors import CallGone
from ccapp.storage import Database, upgrade
from ccapp.storage.dialer_store import DialerStore, LeadRecord
from ccapp.storage.models import DialAttemptRow, LeadRow

NORMAL_CLEARING = 16
NO_ANSWER_CAUSE = 19


class ShiftedClock:
    """A `Clock` whose monotonic time is real (asyncio's timers follow it) and whose wall time starts
    at ``start`` and runs with it, plus whatever `shift` added."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._mono0 = time.monotonic()
        self._shift = timedelta(0)

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._mono0) + self._shift

    def monotonic(self) -> float:
        return time.monotonic()

    def shift(self, seconds: float) -> None:
        """Move the wall clock (only) forward by ``seconds``."""
        self._shift += timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class LineScript:
    """How a dialled lead behaves.

    ``answer_after``: seconds until it answers (None: it rings until the test acts or the ring
    timeout ends it with cause 19); ``fail_cause``: instead the dial fails after ``answer_after``
    (default at once) with that cause; ``verdict``: what AMD says ``amd_s`` after the line entered
    the AMD context (None: the test hands a verdict back itself); ``gone_in_amd``: the lead hangs up
    ``amd_s`` after entering AMD instead."""

    answer_after: float | None = 0.0
    fail_cause: int | None = None
    verdict: str | None = None
    amd_s: float = 0.0
    gone_in_amd: bool = False


PERSON = LineScript(verdict="HUMAN")
MACHINE = LineScript(verdict="MACHINE")
ANSWERS = LineScript()  # answers; the test hands the verdict back
RINGS = LineScript(answer_after=None)
BUSY = LineScript(fail_cause=17)
NO_ANSWER = LineScript(fail_cause=NO_ANSWER_CAUSE)
CONGESTION = LineScript(fail_cause=34)


@dataclass(frozen=True, slots=True)
class Origination:
    """One `FakeOutbound.originate` call, with when it happened."""

    dial_string: str
    attempt_id: str
    caller_id: str
    timeout_s: float
    variables: dict[str, str]
    at: datetime
    mono: float


class FakeLine:
    """A dialled lead: follows its script; a test may also `answer`, `fail` or `hang_up` it."""

    def __init__(self, outbound: FakeOutbound, origination: Origination, script: LineScript, n: int) -> None:
        self._outbound = outbound
        self.origination = origination
        self.script = script
        self._channel_id = f"line-{n}"
        #: variables of each `detect` call (the line was sent to the AMD context)
        self.detected: list[dict[str, str]] = []
        #: the cause ccapp hung up with, when it did
        self.hung_up_by_ccapp: int | None = None
        loop = asyncio.get_running_loop()
        self._answer: asyncio.Future[LineAnswer] = loop.create_future()
        self._gone: asyncio.Future[tuple[int | None, str | None]] = loop.create_future()
        self._timers: list[asyncio.TimerHandle] = []
        if script.fail_cause is not None:
            cause = script.fail_cause
            self._later(script.answer_after or 0.0, lambda: self.fail(cause))
        elif script.answer_after is not None:
            self._later(script.answer_after, self.answer)
        else:
            self._later(origination.timeout_s, lambda: self.fail(NO_ANSWER_CAUSE))

    def _later(self, seconds: float, callback: Callable[[], None]) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(max(0.0, seconds), callback))

    @property
    def attempt_id(self) -> str:
        return self.origination.attempt_id

    @property
    def gone(self) -> bool:
        return self._gone.done()

    @property
    def answered(self) -> bool:
        return self._answer.done() and self._answer.result().answered

    # -- driven by the test or the script
    def answer(self) -> None:
        if self._answer.done() or self.gone:
            return
        self._answer.set_result(LineAnswer(True, at=self._outbound.clock.now()))

    def fail(self, cause: int | None, text: str = "fake") -> None:
        """The dial fails (17 busy, 19 no answer, 34 congestion…): the channel is gone."""
        if not self._answer.done():
            self._answer.set_result(LineAnswer(False, cause=cause, cause_text=text))
        self._end(cause, text)

    def hang_up(self, cause: int = NORMAL_CLEARING) -> None:
        """The lead hangs up (after the answer: e.g. while AMD listens)."""
        self.fail(cause, "remote hangup")

    def _end(self, cause: int | None, text: str | None) -> None:
        for timer in self._timers:
            timer.cancel()
        if not self._gone.done():
            self._gone.set_result((cause, text))

    # -- the Line protocol
    @property
    def channel_id(self) -> str:
        return self._channel_id

    async def wait_answer(self) -> LineAnswer:
        return await asyncio.shield(self._answer)

    async def detect(self, variables: Mapping[str, str]) -> None:
        if self.gone:
            raise CallGone(f"{self._channel_id} hung up")
        self.detected.append(dict(variables))
        if self.script.gone_in_amd:
            self._later(self.script.amd_s, self.hang_up)
        elif self.script.verdict is not None:
            verdict = self.script.verdict
            self._later(self.script.amd_s, lambda: self._outbound.verdict_due(self, verdict))

    async def wait_gone(self) -> tuple[int | None, str | None]:
        return await asyncio.shield(self._gone)

    async def hangup(self, cause: int = NORMAL_CLEARING) -> None:
        if self.gone:
            return
        self.hung_up_by_ccapp = cause
        self.fail(cause, "hung up by ccapp")


class FakeOutbound:
    """`OutboundTelephony` in memory. ``scripts``: lead number (E.164, as in the dial string) →
    `LineScript`; other numbers follow ``default``. ``on_verdict`` is told when a scripted AMD verdict
    is due (`DialerBed` routes it)."""

    def __init__(
        self, clock: Any, scripts: Mapping[str, LineScript] | None = None, default: LineScript = RINGS
    ) -> None:
        self.clock = clock
        self.scripts: dict[str, LineScript] = dict(scripts or {})
        self.default = default
        self.originations: list[Origination] = []
        self.lines: list[FakeLine] = []
        self.on_verdict: Callable[[FakeLine, str], None] | None = None
        self._n = itertools.count(1)
        self._dialled = asyncio.Event()

    def script(self, number: str, script: LineScript) -> None:
        self.scripts[number] = script

    def verdict_due(self, line: FakeLine, verdict: str) -> None:
        if self.on_verdict is not None and not line.gone:
            self.on_verdict(line, verdict)

    @staticmethod
    def number_of(dial_string: str) -> str:
        """The number in a dial string such as ``PJSIP/+15550001@trunk`` (its first run of digits)."""
        found = re.search(r"\+?\d+", dial_string)
        return found.group(0) if found else dial_string

    def dialled(self) -> list[str]:
        """The numbers dialled, in order."""
        return [self.number_of(o.dial_string) for o in self.originations]

    def line_to(self, number: str) -> FakeLine:
        """The last line dialled to ``number``."""
        return [line for line in self.lines if self.number_of(line.origination.dial_string) == number][-1]

    async def originate(
        self,
        dial_string: str,
        *,
        attempt_id: str,
        caller_id: str,
        timeout_s: float,
        variables: Mapping[str, str],
    ) -> FakeLine:
        origination = Origination(
            dial_string,
            attempt_id,
            caller_id,
            timeout_s,
            dict(variables),
            self.clock.now(),
            self.clock.monotonic(),
        )
        self.originations.append(origination)
        script = self.scripts.get(self.number_of(dial_string), self.default)
        line = FakeLine(self, origination, script, next(self._n))
        self.lines.append(line)
        self._dialled.set()
        return line

    async def wait_dials(self, n: int, within_s: float = 3.0) -> list[FakeLine]:
        """Until at least ``n`` lines were dialled (`TimeoutError` after ``within_s``)."""
        async with asyncio.timeout(within_s):
            while len(self.lines) < n:
                self._dialled.clear()
                await self._dialled.wait()
        return self.lines


class DialerBed:
    """A `DialerService` on `FakeOutbound`, an `AcdBed` and a migrated SQLite file at ``db_url``,
    started (campaign loops running every ``tick_s``). Use as ``async with``. Several beds may use
    the same file one after the other (a restart)."""

    def __init__(
        self,
        db_url: str,
        campaigns: Mapping[str, CampaignSettings],
        agents: Sequence[Agent],
        *,
        queues: Mapping[str, QueueSettings],
        clock: ShiftedClock,
        lines: Mapping[str, LineScript] | None = None,
        agent_phones: Mapping[str, Script] | None = None,
        tick_s: float = 0.02,
    ) -> None:
        self.db_url = db_url
        self.clock = clock
        self.db = Database(db_url)
        self.store = DialerStore(self.db, clock=clock)
        self.acd = AcdBed(queues, agents, clock=clock, scripts=agent_phones)
        self.out = FakeOutbound(clock, lines)
        self.out.on_verdict = self._scripted_verdict
        self.svc = DialerService(
            campaigns=campaigns,
            acd=self.acd.service,
            tel=self.out,
            store=self.store,
            clock=clock,
            app_name="ccapp",
            tick_s=tick_s,
        )
        #: the answered calls handed back from AMD: attempt id → (call, its channel, route task)
        self.calls: dict[str, tuple[Call, FakeCaller, asyncio.Task[str]]] = {}
        self._lines = itertools.count(1)

    async def __aenter__(self) -> DialerBed:
        await upgrade(self.db_url)  # a no-op on a database migrated already (a restart)
        await self.acd.__aenter__()
        await self.svc.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.svc.stop()
        tasks = [task for _, _, task in self.calls.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.acd.__aexit__(kind, exc, tb)
        await self.db.dispose()

    # ------------------------------------------------------------------ leads and records
    async def add_leads(
        self,
        campaign_id: str,
        numbers: Iterable[str],
        *,
        zone: str | None = "America/New_York",
        status: str = "new",
        attempts: int = 0,
        next_attempt_at: datetime | None = None,
    ) -> list[str]:
        """Insert leads (as an import would) and return their ids, in order."""
        now = self.clock.now()
        rows = [
            {
                "lead_id": f"{campaign_id}-{next(self._lines)}",
                "campaign_id": campaign_id,
                "phone": number,
                "time_zone": zone,
                "status": status,
                "attempts": attempts,
                "created_at": now,
                "next_attempt_at": next_attempt_at,
                "line": i + 2,
            }
            for i, number in enumerate(numbers)
        ]
        async with self.db.engine.begin() as conn:
            await conn.execute(insert(LeadRow), rows)
        return [str(row["lead_id"]) for row in rows]

    async def lead(self, lead_id: str) -> LeadRecord:
        found = await self.store.lead(lead_id)
        assert found is not None, f"no lead {lead_id}"
        return found

    async def lead_row(self, lead_id: str) -> dict[str, Any]:
        """Every column of the lead (``last_result`` and the rest `LeadRecord` leaves out)."""
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(LeadRow).where(LeadRow.lead_id == lead_id))).mappings().first()
        assert row is not None, f"no lead {lead_id}"
        return dict(row)

    async def attempts(self, lead_id: str | None = None) -> list[dict[str, Any]]:
        """Every dial_attempts row (of one lead), oldest first."""
        query = select(DialAttemptRow).order_by(DialAttemptRow.started_at)
        if lead_id is not None:
            query = query.where(DialAttemptRow.lead_id == lead_id)
        async with self.db.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    # ------------------------------------------------------------------ AMD hands the line back
    def _scripted_verdict(self, line: FakeLine, verdict: str) -> None:
        self.hand_back(line, verdict)

    def hand_back(self, line: FakeLine, verdict: str, cause: str = "") -> tuple[Call, FakeCaller]:
        """The dialplan's AMD returns ``line`` into Stasis with ``verdict``: a new outbound call,
        routed to `outbound_route` in a task of its own (kept in `calls`)."""
        from ccapp.dialer.connect import outbound_route

        n = next(self._lines)
        caller = FakeCaller(channel_id=f"{line.channel_id}-amd-{n}")
        self.acd.tel.add_caller(caller)
        call = Call(
            journal=self.acd.journal,
            clock=self.clock,
            direction=Direction.OUTBOUND,
            via=Via.ARI,
            entry="outbound",
        )
        number = self.out.number_of(line.origination.dial_string)
        call.start(
            CallLeg(caller.channel_id, line.origination.dial_string, role="callee"), called_number=number
        )
        task = asyncio.create_task(
            outbound_route(self.svc, call, caller, (line.attempt_id, verdict, cause)),
            name=f"outbound-{line.attempt_id}",
        )
        self.calls[line.attempt_id] = (call, caller, task)
        return call, caller
