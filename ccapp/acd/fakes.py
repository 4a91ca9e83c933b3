"""In-memory fakes of the ACD ports (`ccapp.acd.ports`) and of a caller, for unit tests.

`FakeAcdTelephony` rings endpoints by script (`Script`: answer after N s, never, fail with a cause,
hang up after N s of talk) and keeps everything done to channels: dials, bridges, hold music,
snoops, hang-ups. `FakeCaller` is a caller's `CallControl` whose keys and hang-up come from the test
at any moment (`press`, `hang_up`): `collect_digits` waits on a queue, so the ACD's long key watch
can be cancelled or ended by the caller leaving, as on a real channel. Timers run on the event loop
(real seconds): tests use small delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ccapp.acd.model import Agent
from ccapp.acd.ports import DialOutcome
from ccapp.acd.recording import Recordings
from ccapp.acd.service import AcdService
from ccapp.calls.call import Call
from ccapp.calls.fakes import MemoryJournal
from ccapp.calls.model import Direction, EventKind, Via, is_agent_stream
from ccapp.calls.model import Leg as CallLeg
from ccapp.calls.ports import DigitResult, RecordResult
from ccapp.clock import Clock, SystemClock
from ccapp.config.acd import queue_config
from ccapp.config.settings import AcdSettings, QueueSettings
from ccapp.errors import CallGone

NO_ANSWER = 19
NORMAL_CLEARING = 16


@dataclass(frozen=True, slots=True)
class Script:
    """How a dialled endpoint behaves. ``answer_after`` None: it rings until hung up or timed out;
    ``fail_cause``: the dial fails after ``answer_after`` (default at once) with that Q.850 cause;
    ``talk_s``: once answered, the far end hangs up after that many seconds (None: stays);
    ``play_s``: how long a prompt played to it (a whisper) lasts."""

    answer_after: float | None = 0.0
    fail_cause: int | None = None
    talk_s: float | None = None
    play_s: float = 0.0


ANSWER = Script()
NEVER = Script(answer_after=None)


@dataclass(frozen=True, slots=True)
class Dial:
    """One `FakeAcdTelephony.dial` call."""

    endpoint: str
    caller_id: str
    timeout_s: float
    variables: dict[str, str]
    leg_id: str


class FakeLeg:
    """A dialled channel that follows its `Script`; a test may also `answer`, `fail` or `remote_hangup`."""

    def __init__(self, tel: FakeAcdTelephony, leg_id: str, endpoint: str, script: Script) -> None:
        self._tel = tel
        self._leg_id = leg_id
        self.endpoint = endpoint
        self.script = script
        self.played: list[tuple[str, ...]] = []
        self.hangup_cause: int | None = None
        loop = asyncio.get_running_loop()
        self._answer: asyncio.Future[DialOutcome] = loop.create_future()
        self._end: asyncio.Future[tuple[int | None, str | None]] = loop.create_future()
        self._timers: list[asyncio.TimerHandle] = []
        if script.fail_cause is not None:
            self._later(script.answer_after or 0.0, lambda: self.fail(script.fail_cause or NO_ANSWER))
        elif script.answer_after is not None:
            self._later(script.answer_after, self.answer)

    def _later(self, seconds: float, callback: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(max(0.0, seconds), callback))

    @property
    def leg_id(self) -> str:
        return self._leg_id

    @property
    def channel(self) -> str:
        return f"{self.endpoint}-{self._leg_id}"

    @property
    def ended(self) -> bool:
        return self._end.done()

    @property
    def answered(self) -> bool:
        return self._answer.done() and self._answer.result().answered

    # -- driven by the test or the script
    def answer(self) -> None:
        """The phone is picked up (ignored once the leg has ended or the dial has an outcome)."""
        if self._answer.done() or self.ended:
            return
        self._answer.set_result(DialOutcome(True))
        if self.script.talk_s is not None:
            self._later(self.script.talk_s, self.remote_hangup)

    def fail(self, cause: int = NO_ANSWER) -> None:
        """The dial fails (busy 17, no answer 19, …): the leg is gone."""
        if not self._answer.done():
            self._answer.set_result(DialOutcome(False, cause, "fake"))
        self._finish(cause)

    def remote_hangup(self, cause: int = NORMAL_CLEARING) -> None:
        """The far end hangs up."""
        if not self._answer.done():
            self._answer.set_result(DialOutcome(False, cause, "fake"))
        self._finish(cause)

    def _finish(self, cause: int) -> None:
        for timer in self._timers:
            timer.cancel()
        if not self._end.done():
            self._end.set_result((cause, "fake"))

    # -- the Leg protocol
    async def wait_answer(self) -> DialOutcome:
        return await asyncio.shield(self._answer)

    async def wait_ended(self) -> tuple[int | None, str | None]:
        return await asyncio.shield(self._end)

    async def play(self, prompts: Sequence[str]) -> None:
        if self.ended:
            raise CallGone(f"{self._leg_id} hung up")
        self.played.append(tuple(prompts))
        if self.script.play_s > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.script.play_s):
                    await asyncio.shield(self._end)
            if self.ended:
                raise CallGone(f"{self._leg_id} hung up")

    async def hangup(self, cause: int = NORMAL_CLEARING) -> None:
        if self.ended:
            return
        self.hangup_cause = cause
        self._tel.hangups.append(self._leg_id)
        self.remote_hangup(cause)


class FakeAcdTelephony:
    """`AcdTelephony` in memory. ``scripts``: endpoint (dial string) → `Script`; others use ``default``."""

    def __init__(self, scripts: Mapping[str, Script] | None = None, default: Script = ANSWER) -> None:
        self.scripts: dict[str, Script] = dict(scripts or {})
        self.default = default
        self.dials: list[Dial] = []
        self.legs: dict[str, FakeLeg] = {}
        #: bridge id → channel ids in it now
        self.bridges: dict[str, set[str]] = {}
        #: every bridge operation in order: ("bridge", id, channels) / ("unbridge", id, channel) /
        #: ("destroy", id, "")
        self.bridge_log: list[tuple[str, str, tuple[str, ...] | str]] = []
        #: ("start", channel, class) / ("stop", channel, "")
        self.moh: list[tuple[str, str, str]] = []
        self.moh_on: set[str] = set()
        self.snoops: list[tuple[str, str, str, str]] = []  # (snoop id, channel, spy, whisper)
        #: ids hung up by ccapp (legs through `FakeLeg.hangup`, anything through `hangup`)
        self.hangups: list[str] = []
        #: what `live_channels` answers besides live legs
        self.live: set[str] = set()
        #: callers' channels by id (`add_caller`): bridging one that hung up fails, as on Asterisk
        self.callers: dict[str, FakeCaller] = {}
        self._ids = itertools.count(1)

    def script(self, endpoint: str, script: Script) -> None:
        self.scripts[endpoint] = script

    def add_caller(self, caller: FakeCaller) -> None:
        self.callers[caller.channel_id] = caller

    def _gone(self, channel_id: str) -> bool:
        leg = self.legs.get(channel_id)
        caller = self.callers.get(channel_id)
        return (leg is not None and leg.ended) or (caller is not None and caller.gone)

    def legs_to(self, endpoint: str) -> list[FakeLeg]:
        return [leg for leg in self.legs.values() if leg.endpoint == endpoint]

    def bridged_with(self, channel_id: str) -> set[str]:
        """The other channels in bridges with ``channel_id`` now."""
        others: set[str] = set()
        for members in self.bridges.values():
            if channel_id in members:
                others |= members - {channel_id}
        return others

    async def dial(
        self,
        endpoint: str,
        *,
        caller_id: str,
        timeout_s: float,
        variables: Mapping[str, str] | None = None,
    ) -> FakeLeg:
        leg_id = f"leg-{next(self._ids)}"
        leg = FakeLeg(self, leg_id, endpoint, self.scripts.get(endpoint, self.default))
        self.legs[leg_id] = leg
        self.dials.append(Dial(endpoint, caller_id, timeout_s, dict(variables or {}), leg_id))
        return leg

    async def bridge(self, bridge_id: str, channel_ids: Sequence[str]) -> None:
        for channel_id in channel_ids:
            if self._gone(channel_id):
                raise CallGone(f"{channel_id} hung up")
        for members in self.bridges.values():  # a channel is in one bridge at a time
            members.difference_update(channel_ids)
        self.bridges.setdefault(bridge_id, set()).update(channel_ids)
        self.bridge_log.append(("bridge", bridge_id, tuple(channel_ids)))

    async def unbridge(self, bridge_id: str, channel_id: str) -> None:
        self.bridges.get(bridge_id, set()).discard(channel_id)
        self.bridge_log.append(("unbridge", bridge_id, channel_id))

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.bridges.pop(bridge_id, None)
        self.bridge_log.append(("destroy", bridge_id, ""))

    async def play_bridge(self, bridge_id: str, prompts: Sequence[str]) -> None:
        self.bridge_log.append(("play", bridge_id, ",".join(prompts)))

    async def start_moh(self, channel_id: str, moh_class: str) -> None:
        if self._gone(channel_id):
            raise CallGone(f"{channel_id} hung up")
        self.moh.append(("start", channel_id, moh_class))
        self.moh_on.add(channel_id)

    async def stop_moh(self, channel_id: str) -> None:
        self.moh.append(("stop", channel_id, ""))
        self.moh_on.discard(channel_id)

    async def snoop(self, channel_id: str, *, spy: str, whisper: str) -> str:
        snoop_id = f"snoop-{next(self._ids)}"
        self.snoops.append((snoop_id, channel_id, spy, whisper))
        return snoop_id

    async def hangup(self, channel_id: str) -> None:
        leg = self.legs.get(channel_id)
        if leg is not None:
            await leg.hangup()
        else:
            self.hangups.append(channel_id)
            self.live.discard(channel_id)

    async def live_channels(self) -> set[str]:
        return self.live | {leg_id for leg_id, leg in self.legs.items() if not leg.ended}


class FakeRecorder:
    """`CallRecorder` that keeps its calls: ("start", channel, name) / ("mute", channel, muted) /
    ("stop", channel, None)."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, str, object]] = []

    async def start(self, channel: str, name: str) -> None:
        self.actions.append(("start", channel, name))

    async def mute(self, channel: str, muted: bool) -> None:
        self.actions.append(("mute", channel, muted))

    async def stop(self, channel: str) -> None:
        self.actions.append(("stop", channel, None))


class FakeGate:
    """A `RecordingGate` (the dialplan's fallback) that keeps its calls."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, str]] = []

    async def pause(self, reason: str) -> None:
        self.actions.append(("pause", reason))

    async def resume(self, reason: str) -> None:
        self.actions.append(("resume", reason))


@dataclass
class FakeCaller:
    """A caller's `CallControl` driven by the test: `press` a key or `hang_up` at any time.

    `collect_digits` waits for keys on a queue (so a pending read can be cancelled, or ended by the
    hang-up with `CallGone`); ``play`` is instant and returns a pressed key when interruptible.
    Everything done to the channel is kept in ``actions``."""

    channel_id: str = "caller-1"
    gone: bool = False
    record_seconds: float = 3.0
    #: how long each `play` lasts (the caller may hang up meanwhile: `CallGone`)
    play_s: float = 0.0
    actions: list[tuple[str, object]] = field(default_factory=list)
    _keys: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _gone: asyncio.Event = field(default_factory=asyncio.Event)

    def press(self, key: str) -> None:
        for k in key:
            self._keys.put_nowait(k)

    def hang_up(self) -> None:
        self.gone = True
        self._gone.set()

    def hang_up_after(self, seconds: float) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(seconds, self.hang_up)

    @property
    def played(self) -> list[tuple[str, ...]]:
        return [arg for name, arg in self.actions if name == "play"]  # type: ignore[misc]

    def _op(self, name: str, arg: object = None) -> None:
        if self.gone:
            raise CallGone(f"{self.channel_id} hung up")
        self.actions.append((name, arg))

    async def answer(self) -> None:
        self._op("answer")

    async def play(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        self._op("play", tuple(prompts))
        if self.play_s > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.play_s):
                    await self._gone.wait()
            if self.gone:
                raise CallGone(f"{self.channel_id} hung up")
        if interruptible and not self._keys.empty():
            return self._keys.get_nowait()
        return None

    async def collect_digits(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
        prompts: Sequence[str] = (),
    ) -> DigitResult:
        self._op("collect", tuple(prompts))
        digits = ""
        timeout = first_timeout
        while len(digits) < max_digits:
            key = asyncio.ensure_future(self._keys.get())
            gone = asyncio.ensure_future(self._gone.wait())
            try:
                done, _ = await asyncio.wait(
                    {key, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in (key, gone):
                    if not task.done():
                        task.cancel()
            if key in done:
                pressed = key.result()
                if terminator and pressed == terminator:
                    return DigitResult(digits, terminator=pressed)
                digits += pressed
                timeout = inter_digit_timeout
                continue
            if gone in done:
                raise CallGone(f"{self.channel_id} hung up")
            return DigitResult(digits, timed_out=True)
        return DigitResult(digits)

    async def say_digits(self, digits: str) -> None:
        self._op("say_digits", digits)

    async def record_message(
        self, name: str, *, max_seconds: float, beep: bool = True, terminator: str = "#"
    ) -> RecordResult:
        self._op("record", name)
        return RecordResult(name, min(self.record_seconds, max_seconds), "terminator")

    async def set_variable(self, name: str, value: str) -> None:
        self._op("set", (name, value))

    async def hangup(self, cause: int = NORMAL_CLEARING) -> None:
        self._op("hangup", cause)
        self.hang_up()

    async def continue_in_dialplan(self, context: str, extension: str = "s", priority: int = 1) -> None:
        self._op("continue", (context, extension, priority))
        self.hang_up()


async def eventually(condition: Callable[[], object], within_s: float = 3.0, what: str = "") -> None:
    """Wait until ``condition()`` is true (tests only: the ACD runs in other tasks)."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.005)


class AcdBed:
    """An `AcdService` on fakes, started: a `MemoryJournal`, `FakeAcdTelephony`, `FakeRecorder`
    and a real clock (ring and wrap-up timers run on the event loop). Use as ``async with``."""

    def __init__(
        self,
        queues: Mapping[str, QueueSettings],
        agents: Sequence[Agent],
        *,
        settings: AcdSettings | None = None,
        scripts: Mapping[str, Script] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.journal = MemoryJournal()
        self.clock: Clock = clock or SystemClock()
        self.tel = FakeAcdTelephony(scripts)
        self.recorder = FakeRecorder()
        self.recordings = Recordings(self.recorder, self.clock)
        self.service = AcdService(
            queues=queues,
            configs={name: queue_config(name, q) for name, q in queues.items()},
            agents={a.agent_id: a for a in agents},
            settings=settings or AcdSettings(),
            journal=self.journal,
            clock=self.clock,
            tel=self.tel,
            recordings=self.recordings,
        )
        self.tasks: list[asyncio.Task[str]] = []
        self._n = 0

    async def __aenter__(self) -> AcdBed:
        self.service.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.service.stop()

    def call(self, number: str | None = "+15550123") -> tuple[Call, FakeCaller]:
        """A new inbound call and its caller (not yet in a queue)."""
        self._n += 1
        caller = FakeCaller(channel_id=f"caller-{self._n}")
        self.tel.add_caller(caller)
        call = Call(
            journal=self.journal, clock=self.clock, direction=Direction.INBOUND, via=Via.ARI, entry="t"
        )
        call.start(
            CallLeg(caller.channel_id, f"PJSIP/trunk-{self._n:04d}", role="caller", caller_number=number),
            called_number="+15550100",
        )
        return call, caller

    def enter(
        self,
        queue: str,
        *,
        priority: int = 0,
        variables: Mapping[str, str] | None = None,
        number: str | None = "+15550123",
    ) -> tuple[Call, FakeCaller, asyncio.Task[str]]:
        """A new call entering ``queue`` in its own task (which returns the ACD's outcome)."""
        call, caller = self.call(number)
        task = asyncio.create_task(
            self.service.enter(caller, queue=queue, priority=priority, variables=variables or {}, call=call)
        )
        self.tasks.append(task)
        return call, caller, task

    def events(self, call: Call | str, kind: EventKind | None = None) -> list[dict[str, Any]]:
        """The data of ``call``'s journal events (of one kind, or all with ``kind`` added)."""
        call_id = call if isinstance(call, str) else call.call_id
        return [
            dict(e.data) if kind is not None else {"kind": e.kind.value, **e.data}
            for e in self.journal.events
            if e.call_id == call_id and (kind is None or e.kind is kind)
        ]

    def kinds(self, call: Call) -> list[str]:
        return self.journal.kinds(call.call_id)

    def agent_changes(self, agent_id: str) -> list[tuple[str, str, str | None]]:
        """(from, to, reason) of every journaled state change of ``agent_id``."""
        return [
            (e.data["from"], e.data["to"], e.data["reason"])
            for e in self.journal.events
            if is_agent_stream(e.call_id) and e.data["agent_id"] == agent_id
        ]

    def state(self, agent_id: str) -> str:
        return self.service.desk.get(agent_id).state.value

    async def login(self, *agent_ids: str) -> None:
        """Log agents in ready, in this order (so the first has been idle longest)."""
        for agent_id in agent_ids:
            await self.service.login(agent_id)
            await asyncio.sleep(0.002)
