"""The call service: runs each new channel through its route, journals the call, fails open.

Adapters (ARI, FastAGI) call `run_call` once per channel and tell the service how channels end
(`channel_ended`, from ARI ChannelDestroyed or AMI Hangup). The service never leaves a caller in
silence: an unexpected error sends the channel to the fallback context in the dialplan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from ccapp.calls.call import Call
from ccapp.calls.model import Q850, Direction, EventKind, Leg, Via
from ccapp.calls.ports import CallControl, CallJournal, DigitResult, RecordResult
from ccapp.calls.router import Router, UnknownRoute
from ccapp.clock import Clock
from ccapp.errors import CallGone, CcappError

log = logging.getLogger("ccapp.calls")


@dataclass(frozen=True, slots=True)
class Fallback:
    """Where calls go when ccapp cannot handle them."""

    context: str = "ccapp-fallback"
    extension: str = "s"
    priority: int = 1


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What an adapter knows about a new channel."""

    channel_id: str
    channel_name: str
    caller_number: str | None = None
    caller_name: str | None = None
    called_number: str | None = None


@dataclass(eq=False)
class ActiveCall:
    call: Call
    control: CallControl
    info: ChannelInfo
    #: set by `channel_ended` with (cause, cause text)
    ended: asyncio.Future[tuple[int | None, str | None]]
    #: sends the channel to the dialplan from outside its handler (shutdown, reconcile)
    evict: Callable[[Fallback], Awaitable[None]] | None = None
    hung_up_by_us: bool = False
    outcome_override: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class _Tracked:
    """Wraps a `CallControl` to journal what the call service must know (answer, own hang-up)."""

    def __init__(self, active: ActiveCall, inner: CallControl) -> None:
        self._active = active
        self._inner = inner

    @property
    def channel_id(self) -> str:
        return self._inner.channel_id

    async def answer(self) -> None:
        await self._inner.answer()
        self._active.call.leg_answered(self._inner.channel_id)

    async def play(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        return await self._inner.play(prompts, interruptible=interruptible)

    async def collect_digits(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
        prompts: Sequence[str] = (),
    ) -> DigitResult:
        return await self._inner.collect_digits(
            max_digits=max_digits,
            terminator=terminator,
            first_timeout=first_timeout,
            inter_digit_timeout=inter_digit_timeout,
            prompts=prompts,
        )

    async def say_digits(self, digits: str) -> None:
        await self._inner.say_digits(digits)

    async def record_message(
        self, name: str, *, max_seconds: float, beep: bool = True, terminator: str = "#"
    ) -> RecordResult:
        return await self._inner.record_message(
            name, max_seconds=max_seconds, beep=beep, terminator=terminator
        )

    async def set_variable(self, name: str, value: str) -> None:
        await self._inner.set_variable(name, value)

    def __getattr__(self, name: str) -> Any:
        # Optional capabilities of the channel (``listen`` for speech) pass through, so
        # ``isinstance(control, SpeechCapture)`` answers for the channel underneath.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    async def hangup(self, cause: int = 16) -> None:
        self._active.hung_up_by_us = True
        await self._inner.hangup(cause)

    async def continue_in_dialplan(self, context: str, extension: str = "s", priority: int = 1) -> None:
        await self._inner.continue_in_dialplan(context, extension, priority)
        self._active.call.record(
            EventKind.CONTINUED, {"context": context, "extension": extension, "priority": priority}
        )
        self._active.outcome_override = self._active.outcome_override or "continued"


class CallService:
    """Runs calls. One instance per process; adapters share it."""

    def __init__(
        self,
        *,
        journal: CallJournal,
        clock: Clock,
        router: Router,
        fallback: Fallback | None = None,
        hangup_wait_s: float = 3.0,
    ) -> None:
        self._journal = journal
        self._clock = clock
        self._router = router
        self.fallback = fallback or Fallback()
        self._hangup_wait_s = hangup_wait_s
        self.accepting = True
        self.active: dict[str, ActiveCall] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[object]] = set()
        self.stats = {"started": 0, "ended": 0, "failed_open": 0, "refused": 0}

    # ------------------------------------------------------------------ task ownership
    def spawn(self, coro: Coroutine[Any, Any, object], *, name: str) -> None:
        """Run a call's coroutine as a task the service keeps and awaits on shutdown."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task %s crashed", task.get_name(), exc_info=task.exception())

    # ------------------------------------------------------------------ one call
    async def run_call(
        self,
        control: CallControl,
        info: ChannelInfo,
        *,
        via: Via,
        args: Sequence[str],
        evict: Callable[[Fallback], Awaitable[None]] | None = None,
    ) -> str:
        """Handle one channel from arrival to close; returns the outcome recorded."""
        try:
            route, params = self._router.resolve(args)
            direction, handler = route.direction, route.handler
        except UnknownRoute as exc:
            log.warning("no route for channel %s: %s", info.channel_name, exc)
            direction, handler, params = Direction.INBOUND, None, tuple(args)
        loop = asyncio.get_running_loop()
        call = Call(
            journal=self._journal, clock=self._clock, direction=direction, via=via, entry="/".join(args)
        )
        active = ActiveCall(call, control, info, loop.create_future(), evict)
        tracked = _Tracked(active, control)
        self.active[info.channel_id] = active
        self._idle.clear()
        self.stats["started"] += 1
        extra = {"call_id": call.call_id, "channel": info.channel_name}
        call.start(
            Leg(info.channel_id, info.channel_name, role="caller", caller_number=info.caller_number),
            caller_name=info.caller_name,
            called_number=info.called_number,
        )
        outcome = "unknown"
        try:
            if handler is None or not self.accepting:
                reason = "no_route" if handler is None else "shutting_down"
                self.stats["refused"] += 1
                await self._fail_open(tracked, active, reason)
                outcome = reason
            else:
                outcome = await handler(call, tracked, params)
        except CallGone:
            outcome = "caller_hangup"
        except CcappError as exc:
            log.warning("call failed: %s; continuing in dialplan", exc, extra=extra)
            outcome = await self._after_error(tracked, active, exc)
        except Exception as exc:
            log.exception("bug while handling call; continuing in dialplan", extra=extra)
            outcome = await self._after_error(tracked, active, exc)
        finally:
            # Closing waits for Asterisk's hang-up cause, which for an AGI call only comes once the
            # AGI connection has ended: close in a task of our own so the handler can return now.
            self.spawn(self._close(active, outcome), name=f"close-{call.call_id}")
        return active.outcome_override or outcome

    async def wait_idle(self) -> None:
        """Until no call is in progress (every record closed)."""
        await self._idle.wait()

    async def _after_error(self, tracked: _Tracked, active: ActiveCall, exc: Exception) -> str:
        active.call.record(EventKind.ERROR, {"error": type(exc).__name__, "message": str(exc)[:200]})
        self.stats["failed_open"] += 1
        await self._fail_open(tracked, active, "error")
        return "failed_open"

    async def _fail_open(self, tracked: _Tracked, active: ActiveCall, reason: str) -> None:
        fb = self.fallback
        try:
            await tracked.set_variable("CCAPP_FALLBACK_REASON", reason)
            await tracked.continue_in_dialplan(fb.context, fb.extension, fb.priority)
        except CallGone:
            return
        except Exception:
            log.exception("could not continue %s in the dialplan", active.info.channel_name)

    async def _close(self, active: ActiveCall, outcome: str) -> None:
        call = active.call
        cause: int | None = None
        cause_text: str | None = None
        if active.ended.done():
            cause, cause_text = active.ended.result()
        elif active.outcome_override is None:
            # The hang-up cause comes from Asterisk (ARI ChannelDestroyed / AMI Hangup).
            try:
                async with asyncio.timeout(self._hangup_wait_s):
                    cause, cause_text = await asyncio.shield(active.ended)
            except TimeoutError:
                pass
            if active.hung_up_by_us and not cause:
                # our own hang-up: over AGI Asterisk reports cause 0 (none set); it was a normal clearing
                cause, cause_text = 16, Q850[16]
        final = active.outcome_override or outcome
        call.end(cause, cause_text, final)
        self.stats["ended"] += 1
        self.active.pop(active.info.channel_id, None)
        active.done.set()
        if not self.active:
            self._idle.set()

    # ------------------------------------------------------------------ adapter notifications
    def channel_ended(self, channel_id: str, cause: int | None, cause_text: str | None) -> None:
        """Asterisk reports a channel gone, with its Q.850 cause."""
        active = self.active.get(channel_id)
        if active is not None and not active.ended.done():
            active.ended.set_result((cause, cause_text or Q850.get(cause or 0)))

    def channels_vanished(self, live_ids: set[str], via: Via) -> list[str]:
        """After a reconnect: mark calls whose channels Asterisk no longer has as lost.

        Returns their channel ids; the adapter must then wake their handlers (`CallGone`)."""
        lost = [a for cid, a in self.active.items() if a.call.via is via and cid not in live_ids]
        for active in lost:
            active.outcome_override = "lost"
            self.channel_ended(active.info.channel_id, None, "vanished")
        return [a.info.channel_id for a in lost]

    # ------------------------------------------------------------------ shutdown
    async def drain(self, grace_s: float) -> None:
        """Stop taking calls, let calls finish for ``grace_s``, then send the rest to the dialplan."""
        self.accepting = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await self._idle.wait()
        for active in list(self.active.values()):
            log.info("shutdown: continuing %s in the dialplan", active.info.channel_name)
            active.outcome_override = "continued_shutdown"
            active.call.record(EventKind.CONTINUED, {"reason": "shutdown", "context": self.fallback.context})
            try:
                if active.evict is not None:
                    await active.evict(self.fallback)
                else:
                    await active.control.continue_in_dialplan(
                        self.fallback.context, self.fallback.extension, self.fallback.priority
                    )
            except CcappError as exc:
                log.warning("shutdown: could not continue %s: %s", active.info.channel_name, exc)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._idle.wait()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
