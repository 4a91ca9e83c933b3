"""`QueueSession`: one caller's time in the ACD, run in the caller's own task.

Enter a queue → wait (music on hold, position and expected wait announced, callback key) → the
router offers agents → ring them (first answer wins; no answer → the agent goes not ready "missed"
and the call is back at the head of its line) → whisper, bridge, record per policy → talk (transfers
come in as signals) → the agent leaves first (the caller goes on in the IVR) or the caller hangs up.
Every step is journaled on the call. Agent states change only through the service's `AgentDesk`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ccapp.acd.errors import NotPermitted
from ccapp.acd.journal import record
from ccapp.acd.model import AgentState, WaitingCall
from ccapp.acd.ports import Leg
from ccapp.acd.prompts import CALLBACK_CONFIRM, VOICEMAIL_INTRO, position_prompts
from ccapp.acd.ranking import Assignment
from ccapp.acd.ringing import release, ring
from ccapp.acd.signals import Offer, Overdue, Signal, TransferRequest
from ccapp.acd.talk import Party, Talk
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind
from ccapp.errors import CallGone

if TYPE_CHECKING:
    from ccapp.acd.service import AcdService

log = logging.getLogger("ccapp.acd.session")


class QueueSession:
    def __init__(
        self,
        service: AcdService,
        call: Call,
        control: Any,
        *,
        queue: str,
        priority: int,
        variables: Mapping[str, str],
    ) -> None:
        self.service = service
        self.call = call
        self.control = control
        self.queue = queue
        self.priority = priority
        self.variables = dict(variables)
        self.signals: asyncio.Queue[Signal] = asyncio.Queue()
        self.entry = 0
        self.waiting: WaitingCall | None = None
        self.entered_mono = 0.0
        self.talk: Talk | None = None
        self._watch: asyncio.Future[Any] | None = None

    @property
    def call_id(self) -> str:
        return self.call.call_id

    @property
    def caller_channel(self) -> str:
        return str(self.control.channel_id)

    # ------------------------------------------------------------------------------- the flow
    async def run(self) -> str:
        svc = self.service
        try:
            await self.control.answer()
            queue: str | None = self.queue
            while queue is not None:
                if queue.startswith("agent:"):  # a blind transfer to an agent
                    outcome, queue = await self._to_agent(queue[6:])
                else:
                    outcome, queue = await self._one_queue(queue)
            return outcome
        except CallGone:
            self._left("abandoned" if self.waiting is not None else None)
            raise
        except asyncio.CancelledError:
            # ccapp stopping while the caller waits: the entry is closed in the journal (and on the
            # wallboard) rather than left waiting forever
            self._left("shutdown")
            raise
        except Exception:
            self._left("error")
            raise
        finally:
            await self._stop_watch()
            svc.session_done(self)

    async def _one_queue(self, queue: str) -> tuple[str, str | None]:
        """Wait in ``queue`` until connected (and the talk is over) or until the call leaves it;
        returns the outcome and the next queue, if the call moves on to one."""
        svc = self.service
        await self._stop_watch()
        settings = svc.queue_settings(queue)
        self.queue = queue
        self._enter(queue)
        if settings.leave_when_empty and not svc.staffed(queue):
            return await self._overflow("no_agents", settings.empty_prompts)
        if svc.router.is_full(queue):
            return await self._overflow("full")
        svc.router.add_call(self.waiting)  # type: ignore[arg-type]
        if (
            settings.recording == "all"
            and settings.consent_prompt
            and not svc.recordings.active(self.call_id)
        ):
            self.call.record(EventKind.PROMPT, {"prompts": [settings.consent_prompt], "purpose": "consent"})
            await self.control.play([await svc.render(settings.consent_prompt)])
        svc.kick()
        next_announce = svc.clock.monotonic()
        await svc.tel.start_moh(self.caller_channel, settings.moh_class)
        while True:
            now = svc.clock.monotonic()
            if now >= next_announce and self.waiting is not None:
                every = settings.announce_every_s
                next_announce = now + every if every else float("inf")
                item = await self._announce(settings.moh_class)
            else:
                item = await self._signal_or_key(next_announce - now)
            if isinstance(item, str):
                if await self._key(item, settings):
                    return "callback", None
            elif isinstance(item, Overdue):
                if self.waiting is not None and svc.router.remove_call(self.call_id) is not None:
                    return await self._overflow("max_wait")
            elif isinstance(item, Offer):
                result = await self._ring(item)
                if result is None:
                    continue  # nobody answered: back at the head of the line
                agent_id, leg, ring_s = result
                connected = await self._connected(agent_id, leg, ring_s)
                if connected is None:
                    continue  # the agent left before the bridge: back at the head of the line
                return connected
            elif isinstance(item, TransferRequest):
                item.reply.set_exception(NotPermitted("the call is not connected to an agent"))

    async def _to_agent(self, agent_id: str) -> tuple[str, str | None]:
        """After a blind transfer to an agent (reserved by `Talk`): ring that agent alone, the caller
        on hold music; no answer → ``transfer_failed`` (the caller goes on in the IVR)."""
        svc = self.service
        await svc.tel.start_moh(self.caller_channel, svc.queue_settings(self.queue).moh_class)
        direct = WaitingCall(self.call_id, self.queue, svc.clock.now(), self.priority)
        result = await self._ring(Offer(Assignment(direct, (svc.desk.get(agent_id),), 0, ())))
        if result is None:
            await svc.tel.stop_moh(self.caller_channel)
            return "transfer_failed", None
        connected = await self._connected(*result)
        if connected is None:
            await svc.tel.stop_moh(self.caller_channel)
            return "transfer_failed", None
        return connected

    def _enter(self, queue: str) -> None:
        svc = self.service
        self.entry = svc.next_entry(self.call_id)
        now = svc.clock.now()
        skills = {k[6:]: int(v) for k, v in self.variables.items() if k.startswith("skill_") and v.isdigit()}
        skills = {k: v for k, v in skills.items() if 1 <= v <= 5}
        self.waiting = WaitingCall(self.call_id, queue, now, self.priority, skills)
        self.entered_mono = svc.clock.monotonic()
        position = svc.router.queue_length(queue) + 1
        config = svc.router.queues.get(queue)  # KPIs group by the call's own first skill, else the queue's
        record(
            self,
            EventKind.QUEUE_ENTERED,
            priority=self.priority,
            skills=skills,
            skill=next(iter(skills), None) or next(iter(config.skills if config else ()), None),
            position=position,
            expected_wait_s=svc.expected_wait(queue, position),
        )

    def waited(self) -> float:
        return round(self.service.clock.monotonic() - self.entered_mono, 3)

    def _left(self, reason: str | None, target: str | None = None) -> None:
        """The call leaves its queue entry (``reason`` None: it already had)."""
        if reason is None or self.waiting is None:
            return
        self.service.router.remove_call(self.call_id)
        self.waiting = None
        record(self, EventKind.QUEUE_LEFT, reason=reason, wait_s=self.waited(), target=target)

    # ------------------------------------------------------------------------------- waiting
    async def _announce(self, moh_class: str) -> Signal | str | None:
        """Position and expected wait, over the music; a key or a signal (an agent is free, max
        wait) stops it. Returns the key or the signal."""
        svc = self.service
        early = await self._stop_watch()
        if early:
            return early
        if not self.signals.empty():
            return self.signals.get_nowait()
        position = svc.router.position(self.call_id)
        if position is None:
            return None
        expected = svc.expected_wait(self.queue, position)
        record(self, EventKind.QUEUE_ANNOUNCED, position=position, expected_wait_s=expected)
        await svc.tel.stop_moh(self.caller_channel)
        play = asyncio.ensure_future(
            self.control.play(position_prompts(position, expected), interruptible=True)
        )
        get = asyncio.ensure_future(self.signals.get())
        try:
            done, _ = await asyncio.wait({play, get}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not get.done():
                get.cancel()
            if not play.done():
                play.cancel()  # stops the prompt on the channel
                await asyncio.wait({play})  # (not `await play`: it would swallow our own cancellation)
                if not play.cancelled():
                    play.exception()
        if get in done and not get.cancelled():
            signal: Signal = get.result()
            await svc.tel.start_moh(self.caller_channel, moh_class)
            return signal
        key: str | None = play.result()  # CallGone if the caller hung up
        await svc.tel.start_moh(self.caller_channel, moh_class)
        return key

    async def _key(self, key: str, settings: Any) -> bool:
        """A key pressed while waiting; True when it booked a callback (the caller is done here)."""
        svc = self.service
        if key != settings.callback_key or not svc.callbacks_enabled or not self.call.caller_number:
            return False
        await self._stop_watch()
        await svc.tel.stop_moh(self.caller_channel)
        await self._call_back_later(rejoin=False)
        return True

    async def _call_back_later(self, *, rejoin: bool) -> None:
        """Book a callback for the caller (`AcdService.book_callback`) and confirm it."""
        self.service.book_callback(self, rejoin=rejoin)
        with contextlib.suppress(CallGone):
            await self.control.play(CALLBACK_CONFIRM)

    async def _signal_or_key(self, wait_s: float) -> Signal | str | None:
        """The next signal, or a key the caller pressed, or None after ``wait_s`` seconds.
        Raises `CallGone` if the caller hangs up."""
        if not self.signals.empty():
            return self.signals.get_nowait()
        watch = self._ensure_watch()
        get = asyncio.ensure_future(self.signals.get())
        try:
            done, _ = await asyncio.wait(
                {watch, get}, timeout=max(0.0, wait_s), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not get.done():
                get.cancel()
        if get in done:
            return get.result()
        if watch in done:
            self._watch = None
            result = watch.result()  # raises CallGone
            return str(result.digits) if result.digits else None
        return None

    def _ensure_watch(self) -> asyncio.Future[Any]:
        """One pending read of the caller's keys; it also notices the caller hanging up."""
        if self._watch is None:
            self._watch = asyncio.ensure_future(
                self.control.collect_digits(
                    max_digits=1, terminator="", first_timeout=3600, inter_digit_timeout=0.1
                )
            )
        return self._watch

    async def _stop_watch(self) -> str | None:
        """Stop reading the caller's keys before anything else reads the channel (a play would
        otherwise race the watch for its events). A key the watch had already read is returned."""
        watch, self._watch = self._watch, None
        if watch is None:
            return None
        if not watch.done():
            watch.cancel()
            # wait without taking its outcome: a cancellation of this task must still propagate
            await asyncio.wait({watch})
            if not watch.cancelled():
                watch.exception()  # a hang-up: the next operation on the channel raises CallGone
            return None
        if watch.cancelled() or watch.exception() is not None:
            return None  # a hang-up: the next operation on the channel raises CallGone
        digits = watch.result().digits
        return str(digits) if digits else None

    async def _overflow(self, why: str, prompts: list[str] | None = None) -> tuple[str, str | None]:
        """The call leaves the queue (``why``: max_wait, full, no_agents) for the overflow target;
        without one it goes back to the IVR after ``prompts``."""
        svc = self.service
        await self._stop_watch()
        target = svc.overflow_of(self.queue)
        reason = "callback" if target == "callback" else "overflow" if target else why
        waiting = self.waiting  # a callback keeps it: `_left` forgets it
        self._left(reason, target)
        await svc.tel.stop_moh(self.caller_channel)
        if target is None:
            if prompts:
                await self.control.play(prompts)
            return why, None
        if target.startswith("queue:"):
            return "overflow", target[6:]
        if target == "callback" and svc.callbacks_enabled and self.call.caller_number:
            # the place in line is kept: the call rejoins with its original arrival time
            self.waiting = waiting
            await self._call_back_later(rejoin=True)
            return "callback", None
        if target.startswith("voicemail:"):
            await self.control.play(VOICEMAIL_INTRO)
            mailbox = target.split(":", 1)[1]
            await self.control.record_message(f"ccapp/voicemail/{mailbox}/{self.call_id}", max_seconds=120)
            return "voicemail", None
        return why, None

    # ------------------------------------------------------------------------------- ringing
    async def _ring(self, offer: Offer) -> tuple[str, Leg, float] | None:
        return await ring(self, offer)

    async def _release(self, agent_id: str, leg: Leg, reason: str) -> None:
        await release(self, agent_id, leg, reason)

    # ------------------------------------------------------------------------------- connected
    async def _connected(self, agent_id: str, leg: Leg, ring_s: float) -> tuple[str, str | None] | None:
        """Bridge the caller with the agent who answered and talk; None: the agent hung up before
        the bridge (the call is back in line)."""
        svc = self.service
        agent = svc.desk.get(agent_id)
        svc.desk.change(agent, AgentState.ON_CALL)
        settings = svc.queue_settings(self.queue)
        if settings.whisper:
            # the agent hanging up during the whisper is handled as the agent leaving, below
            with contextlib.suppress(CallGone):
                await leg.play([await svc.render(settings.whisper)])
        wait_s = self.waited()
        bridge_id = f"ccapp-{self.call_id}-{self.entry}"
        await self._stop_watch()
        await svc.tel.stop_moh(self.caller_channel)
        try:
            await svc.tel.bridge(bridge_id, [self.caller_channel, leg.leg_id])
        except CallGone:
            # a side hung up before the bridge (the agent during the whisper, or the caller): the
            # agent wraps up; a caller still here is back at the head of the line
            await self._release(agent_id, leg, "agent_gone" if leg.ended else "caller_gone")
            svc.agent_call_ended(agent_id, self.queue, 0.0)
            await svc.tel.destroy_bridge(bridge_id)
            if getattr(self.control, "gone", True):
                raise
            await svc.tel.start_moh(self.caller_channel, settings.moh_class)
            if self.waiting is not None:
                svc.router.add_call(self.waiting)
            svc.kick()
            return None
        self._left("answered", agent_id)
        record(
            self,
            EventKind.AGENT_CONNECTED,
            agent_id=agent_id,
            leg_id=leg.leg_id,
            wait_s=wait_s,
            ring_s=ring_s,
            bridge_id=bridge_id,
        )
        svc.waits.record_wait(self.queue, wait_s)
        await svc.recordings.connected(
            self.call, self.caller_channel, self.queue, agent_id, settings.recording
        )
        self.talk = Talk(self, bridge_id, Party(agent_id, leg, svc.clock.monotonic()))
        try:
            return await self.talk.run()
        finally:
            self.talk = None

    # ------------------------------------------------------------------------------- API
    async def request(self, request: TransferRequest) -> Any:
        if self.talk is None:
            raise NotPermitted("the call is not connected to an agent")
        self.signals.put_nowait(request)
        return await request.reply
