"""`AcdService`: queues, agents and the dispatcher — the IVR's `QueueTarget` and the API's
`AcdCommands`.

One dispatcher task owns routing: it wakes when something changed (`kick`) or once a second (for
relaxation steps and max-wait), asks the pure `Router` for assignments, moves the chosen agents to
reserved and hands each assignment to the call's `QueueSession` (which runs in the caller's task).
A callback booked by a caller keeps the call in line; when its turn comes the service rings the agent
first, then the customer (`ccapp.acd.callback`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ccapp.acd.api import BUSY, UNREACHABLE, AcdCommandsMixin, tracked_endpoint
from ccapp.acd.callback import CallbackJob
from ccapp.acd.desk import AgentDesk
from ccapp.acd.errors import NotPermitted, UnknownCall
from ccapp.acd.escalation import Verdict, verdict
from ccapp.acd.journal import AcdListener, record
from ccapp.acd.model import Agent, AgentState, QueueConfig
from ccapp.acd.ports import AcdTelephony, Leg
from ccapp.acd.recording import Recordings
from ccapp.acd.router import Router
from ccapp.acd.session import QueueSession
from ccapp.acd.signals import Offer, Overdue, TransferRequest
from ccapp.acd.states import StateChange
from ccapp.acd.wait import WaitEstimator
from ccapp.calls.call import Call
from ccapp.calls.model import CallEvent, EventKind
from ccapp.calls.ports import CallJournal
from ccapp.clock import Clock
from ccapp.config.settings import AcdSettings, QueueSettings
from ccapp.ivr.ports import PromptStore

log = logging.getLogger("ccapp.acd")

DispositionHook = Callable[[str, str, str, bool | None, datetime | None], None]

S = AgentState
_RECENT_CALLS = 2000


class AcdService(AcdCommandsMixin):
    def __init__(
        self,
        *,
        queues: Mapping[str, QueueSettings],
        configs: Mapping[str, QueueConfig],
        agents: Mapping[str, Agent],
        settings: AcdSettings,
        journal: CallJournal,
        clock: Clock,
        tel: AcdTelephony,
        recordings: Recordings,
        prompts: PromptStore | None = None,
        number_dial: str | None = None,
    ) -> None:
        self.clock = clock
        self.tel = tel
        self.journal = journal
        self.settings = settings
        self.recordings = recordings
        self._prompts = prompts
        self._number_dial = settings.callback_dial or number_dial
        self._queues = dict(queues)
        self.router = Router(configs.values())
        self.desk = AgentDesk(self.router, journal, clock)
        for agent in agents.values():
            self.desk.put(agent)
        self.waits = WaitEstimator()
        self.sessions: dict[str, QueueSession] = {}
        self.callbacks: dict[str, CallbackJob] = {}
        self._entries: dict[str, int] = {}
        #: calls that left the ACD lately, for dispositions given during wrap-up
        self._recent: OrderedDict[str, Call] = OrderedDict()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[Any]] = set()
        #: agent phones Asterisk last reported offline (see `endpoint_state`)
        self._offline: set[str] = set()
        #: told of queue-entry events and agent states as they happen (e.g. the wallboard)
        self.listeners: list[AcdListener] = []
        #: told of every disposition (call id, agent id, outcome, right party, callback time): the dialer
        self.disposition_hooks: list[DispositionHook] = []
        #: other owners of agents' work (the dialer's attempts): reconcile leaves their agents alone
        self.work_owners: list[Callable[[str], bool]] = []
        self.desk.subscribers.append(self._agent_changed)

    # ------------------------------------------------------------------ listeners
    def listen(self, listener: AcdListener) -> None:
        """Tell ``listener`` of every queue-entry event and agent state from now on, starting with
        every agent's current state."""
        self.listeners.append(listener)
        for agent in self.desk.agents.values():
            listener.agent_state(agent.agent_id, agent.state.value, agent.queues)

    def publish(self, event: CallEvent) -> None:
        """A queue-entry event was journaled (`ccapp.acd.journal.record`)."""
        for listener in self.listeners:
            try:
                listener.queue_event(event)
            except Exception:
                log.exception("ACD listener failed on %s", event.kind.value)

    def agent_defined(self, agent: Agent | None, agent_id: str) -> None:
        """An agent was added, redefined (None: removed) outside a state change."""
        for listener in self.listeners:
            try:
                if agent is None:
                    listener.agent_removed(agent_id)
                else:
                    listener.agent_state(agent_id, agent.state.value, agent.queues)
            except Exception:
                log.exception("ACD listener failed on agent %s", agent_id)

    def _agent_changed(self, change: StateChange, agent: Agent) -> None:
        self.agent_defined(agent, agent.agent_id)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._task = asyncio.create_task(self._dispatch_loop(), name="acd-dispatch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for job in list(self._jobs):
            job.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        self.desk.close()

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._jobs.add(task)
        task.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task[Any]) -> None:
        self._jobs.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ACD task %s failed", task.get_name(), exc_info=task.exception())

    def kick(self) -> None:
        """Something changed that may allow an assignment: dispatch soon."""
        self._wake.set()

    async def _dispatch_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            self._wake.clear()
            try:
                self._dispatch()
            except Exception:
                log.exception("ACD dispatch failed")

    def _dispatch(self) -> None:
        now = self.clock.now()
        for call in self.router.overdue(now):
            session = self.sessions.get(call.call_id)
            if session is not None and session.waiting is not None:
                session.signals.put_nowait(Overdue())
        for assignment in self.router.route(now):
            call_id = assignment.call.call_id
            for agent in assignment.agents:
                self.desk.change(agent, S.RESERVED, call_id=call_id, queue=assignment.call.queue)
            job = self.callbacks.get(call_id)
            session = self.sessions.get(call_id)
            if job is not None:
                self.spawn(job.run(assignment), name=f"callback-{call_id}")
            elif session is not None:
                session.signals.put_nowait(Offer(assignment))
            else:
                log.warning("assignment for call %s that has no session; agents released", call_id)
                for agent in assignment.agents:
                    self.desk.change(agent, S.READY)

    # ------------------------------------------------------------------ the IVR's QueueTarget
    async def enter(
        self, control: Any, *, queue: str, priority: int, variables: Mapping[str, str], call: Any
    ) -> str:
        if not isinstance(call, Call):
            raise TypeError("the ACD needs the call's Call object")
        if queue not in self._queues:
            raise UnknownCall(f"no queue {queue!r}")
        session = QueueSession(self, call, control, queue=queue, priority=priority, variables=variables)
        self.sessions[call.call_id] = session
        return await session.run()

    # ------------------------------------------------------------------ used by sessions
    def queue_settings(self, queue: str) -> QueueSettings:
        settings = self._queues.get(queue)
        if settings is None:
            raise NotPermitted(f"no queue {queue!r}")
        return settings

    def staffed(self, queue: str) -> bool:
        """True if any agent of ``queue`` is logged in (ready, busy or not ready)."""
        return any(a.state is not S.LOGGED_OUT for a in self.desk.in_queue(queue))

    def overflow_of(self, queue: str) -> str | None:
        return self.router.queues[queue].overflow

    def next_entry(self, call_id: str) -> int:
        self._entries[call_id] = self._entries.get(call_id, 0) + 1
        return self._entries[call_id]

    def expected_wait(self, queue: str, position: int) -> float | None:
        members = self.desk.in_queue(queue)
        busy = sum(1 for a in members if a.state in BUSY)
        self.waits.set_staffing(queue, ready=self.router.ready_count(queue), busy=busy)
        wait = self.waits.expected_wait(queue, position, self.clock.monotonic())
        return None if wait is None else round(wait, 1)

    async def render(self, prompt: str) -> str:
        if prompt.startswith("text:"):
            if self._prompts is None:
                raise NotPermitted("text prompts need a TTS engine (ivr.tts)")
            return await self._prompts.render(prompt[5:])
        return prompt

    def session_done(self, session: QueueSession) -> None:
        if self.sessions.get(session.call_id) is session:
            del self.sessions[session.call_id]
        # signals the session never read (it was playing a prompt when the caller hung up): free
        # the agents reserved for it and answer pending API requests
        while not session.signals.empty():
            signal = session.signals.get_nowait()
            if isinstance(signal, Offer):
                for agent in signal.assignment.agents:
                    self.agent_released(agent.agent_id)
            elif isinstance(signal, TransferRequest) and not signal.reply.done():
                signal.reply.set_exception(UnknownCall(f"call {session.call_id!r} left the ACD"))
        self.remember(session.call)
        if session.call_id not in self.callbacks:
            self.router.remove_call(session.call_id)
            self._entries.pop(session.call_id, None)
        self.kick()

    @property
    def callbacks_enabled(self) -> bool:
        return self._number_dial is not None

    def book_callback(self, session: QueueSession, *, rejoin: bool = False) -> None:
        """Keep ``session``'s call in line for a callback once the caller has hung up (``rejoin``:
        it had already left the line, by a callback overflow, and rejoins with its arrival time)."""
        waiting = session.waiting
        if waiting is None:
            return
        record(session, EventKind.CALLBACK_REQUESTED, number=session.call.caller_number)
        if rejoin:
            self.router.add_call(waiting)
        else:
            record(
                session, EventKind.QUEUE_LEFT, reason="callback", wait_s=session.waited(), target="callback"
            )
        self.callbacks[session.call_id] = CallbackJob(
            self, session.call, waiting, session.entry, session.entered_mono
        )
        session.waiting = None
        self.kick()

    def remember(self, call: Call) -> None:
        self._recent[call.call_id] = call
        self._recent.move_to_end(call.call_id)
        while len(self._recent) > _RECENT_CALLS:
            self._recent.popitem(last=False)

    def callback_done(self, call_id: str) -> None:
        self.callbacks.pop(call_id, None)
        self.router.remove_call(call_id)
        self._entries.pop(call_id, None)
        self.kick()

    def caller_id(self, queue: str, call: Call) -> str:
        return self.settings.agent_caller_id.format(
            queue=queue, name=call.caller_name or call.caller_number or "", caller=call.caller_number or ""
        )

    async def dial_agent(self, agent_id: str, session: Any) -> Leg:
        agent = self.desk.get(agent_id)
        self.desk.change(agent, S.RINGING)
        settings = self.queue_settings(session.queue)
        return await self.tel.dial(
            agent.endpoint,
            caller_id=self.caller_id(session.queue, session.call),
            timeout_s=settings.ring_timeout_s,
            variables={"CCAPP_CALL_ID": session.call.call_id, "CCAPP_QUEUE": session.queue},
        )

    async def dial_number(self, number: str, session: Any) -> Leg:
        if self._number_dial is None:
            raise NotPermitted("dialling numbers needs acd.callback_dial (or ivr.transfer.number_dial)")
        if not number.lstrip("+").isdigit():
            raise NotPermitted(f"not a phone number: {number!r}")
        return await self.tel.dial(
            self._number_dial.format(number=number),
            caller_id=session.call.called_number or "",
            timeout_s=self.queue_settings(session.queue).ring_timeout_s * 2,
            variables={"CCAPP_CALL_ID": session.call.call_id},
        )

    def reserve_direct(self, agent_id: str, session: Any) -> None:
        agent = self.desk.get(agent_id)
        if agent.state is not S.READY:
            raise NotPermitted(f"agent {agent_id!r} is {agent.state.value}, not ready")
        self.desk.change(agent, S.RESERVED, call_id=session.call.call_id, queue=session.queue)

    def direct_answered(self, agent_id: str) -> None:
        self.desk.change(self.desk.get(agent_id), S.ON_CALL)

    def agent_missed(self, agent_id: str) -> None:
        agent = self.desk.agents.get(agent_id)
        if agent is not None and agent.state in (S.RINGING, S.RESERVED):
            self.desk.change(agent, S.NOT_READY, "missed")
        self.kick()

    def agent_released(self, agent_id: str) -> None:
        agent = self.desk.agents.get(agent_id)
        if agent is not None and agent.state in (S.RINGING, S.RESERVED):
            self.desk.change(agent, S.READY)
        self.kick()

    def agent_call_ended(self, agent_id: str, queue: str, talk_s: float) -> None:
        agent = self.desk.agents.get(agent_id)
        if agent is None or agent.state is not S.ON_CALL:
            return
        wrap = self._queues[queue].wrap_up_s if queue in self._queues else 0.0
        self.waits.record_handle(queue, talk_s + wrap, self.clock.monotonic())
        self.desk.start_wrap_up(agent, wrap, self.kick, self._wrapped(agent_id))

    def _wrapped(self, agent_id: str) -> Callable[[float], None] | None:
        """What journals ``agent.wrapped`` on the call the agent just finished, when its wrap-up ends
        (the call may be over by then). None when the call is unknown (e.g. after a reconcile)."""
        work = self.desk.work(agent_id)
        owner: QueueSession | CallbackJob | None = None
        if work is not None:
            owner = self.sessions.get(work[0]) or self.callbacks.get(work[0])
        if owner is None:
            return None
        call, queue, entry = owner.call, owner.queue, owner.entry

        def journal(wrap_s: float) -> None:
            data = {"queue": queue, "entry": entry, "agent_id": agent_id, "wrap_s": round(wrap_s, 3)}
            call.record(EventKind.AGENT_WRAPPED, data)

        return journal

    def escalation(self, variables: Mapping[str, str], target: str) -> Verdict:
        """The escalation rule for a call with ``variables`` and whether a transfer to ``target``
        (``queue:<name>``, ``agent:<id>``, ``number:<digits>``) follows it (`ccapp.acd.escalation`)."""
        agent = self.desk.agents.get(target.partition(":")[2]) if target.startswith("agent:") else None
        return verdict(
            self.settings.escalation,
            variables,
            target,
            queue_skills={name: q.skills for name, q in self._queues.items()},
            agent_skills={agent.agent_id: agent.skills} if agent is not None else {},
        )

    # ------------------------------------------------------------------ reconcile
    def reconcile(self) -> list[str]:
        """After Asterisk came back: agents still marked busy with a call ccapp no longer handles are
        freed (ringing/reserved → ready, on call → wrap-up). Returns their ids."""
        fixed = []
        for agent in list(self.desk.agents.values()):
            work = self.desk.work(agent.agent_id)
            call_id = work[0] if work else None
            if call_id in self.sessions or call_id in self.callbacks:
                continue
            if call_id is not None and any(owns(call_id) for owns in self.work_owners):
                continue
            if agent.state in (S.RESERVED, S.RINGING):
                self.desk.change(agent, S.READY)
                fixed.append(agent.agent_id)
            elif agent.state is S.ON_CALL:
                self.agent_call_ended(agent.agent_id, work[1] if work else "", 0.0)
                fixed.append(agent.agent_id)
        self.kick()
        return fixed

    # ------------------------------------------------------------------ phone reachability
    def agent_endpoints(self) -> set[str]:
        """The agents' PJSIP endpoints (``PJSIP/1001``), whose reachability Asterisk reports.
        Other dial strings (``Local/…``, a PJSIP URI) have no registration to follow."""
        return {e for a in self.desk.agents.values() if (e := tracked_endpoint(a.endpoint)) is not None}

    def endpoint_state(self, endpoint: str, online: bool) -> None:
        """Asterisk says ``endpoint``'s phone is reachable or not (registered, qualified).

        A ready agent whose phone went offline goes not ready ("unreachable"), so no call is offered
        to a phone that cannot ring; when the phone is back, an agent still not ready for that reason
        is ready again. Any other state is left alone: a call in progress ends through its own
        channel events, and a break the agent chose is not cancelled by the phone coming back.
        An agent who logs in ready while the phone is offline is not ready ("unreachable") too.
        """
        key = tracked_endpoint(endpoint)
        if key is None:
            return
        if online:
            self._offline.discard(key)
        else:
            self._offline.add(key)
        woke = False
        for agent in list(self.desk.agents.values()):
            if tracked_endpoint(agent.endpoint) != key:
                continue
            if not online and agent.state is S.READY:
                log.warning("agent %s: phone %s unreachable; not ready", agent.agent_id, key)
                self.desk.change(agent, S.NOT_READY, UNREACHABLE)
            elif online and agent.state is S.NOT_READY and agent.not_ready_reason == UNREACHABLE:
                log.info("agent %s: phone %s reachable again; ready", agent.agent_id, key)
                self.desk.change(agent, S.READY)
                woke = True
        if woke:
            self.kick()
