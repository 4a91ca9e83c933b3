"""`AgentDesk`: the agents of one ccapp process, their state changes journaled and published.

`AgentDesk.change` wraps `ccapp.acd.states.change_state` (the one choke point): after the change it
re-indexes the agent in the router, journals an ``agent.state`` event in the agent's own stream
(``agent:<id>:<session>``, see `ccapp.calls.model.agent_stream_id`) and tells subscribers. It also
owns the wrap-up timers: an agent in wrap-up goes back to ready after the queue's wrap-up time unless
something else moved it first; however the wrap-up ends (timer, ready, not ready, log-out), its length
on the monotonic clock goes to the ``on_end`` given to `AgentDesk.start_wrap_up` (the service journals
it as ``agent.wrapped`` on the call).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ccapp.acd.errors import UnknownAgent
from ccapp.acd.model import Agent, AgentState
from ccapp.acd.router import Router
from ccapp.acd.states import StateChange, change_state
from ccapp.calls.model import CallEvent, EventKind, agent_stream_id
from ccapp.calls.ports import CallJournal
from ccapp.clock import Clock

log = logging.getLogger("ccapp.acd.desk")

Subscriber = Callable[[StateChange, Agent], None]
#: told how many seconds a wrap-up lasted when it ends
WrapEnd = Callable[[float], None]


@dataclass(slots=True)
class _Work:
    """What an agent is busy with: the call and queue it was reserved for."""

    call_id: str
    queue: str


class AgentDesk:
    def __init__(self, router: Router, journal: CallJournal, clock: Clock) -> None:
        self.router = router
        self._journal = journal
        self._clock = clock
        self._session = uuid.uuid4().hex[:12]
        self.agents: dict[str, Agent] = {}
        self._work: dict[str, _Work] = {}
        self._seq: dict[str, int] = {}
        self._wrap_timers: dict[str, asyncio.TimerHandle] = {}
        self._wrapping: dict[str, tuple[float, WrapEnd]] = {}  # agent → (monotonic start, on_end)
        self.subscribers: list[Subscriber] = []
        #: the outbound campaign an agent works now (the dialer sets it), journaled with each state
        self.campaign_of: Callable[[str], str | None] = lambda agent_id: None

    # -------------------------------------------------------------------- agents
    def get(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(f"no agent {agent_id!r}")
        return agent

    def put(self, agent: Agent) -> None:
        """Add an agent or replace one's definition (its state and counters are kept)."""
        old = self.agents.get(agent.agent_id)
        if old is not None:
            agent.state = old.state
            agent.not_ready_reason = old.not_ready_reason
            agent.state_since = old.state_since
            agent.last_call_ended_at = old.last_call_ended_at
            agent.calls_today = old.calls_today
        self.agents[agent.agent_id] = agent
        self.router.update_agent(agent)

    def remove(self, agent_id: str) -> None:
        self._cancel_wrap(agent_id)
        self._wrapping.pop(agent_id, None)
        self.agents.pop(agent_id, None)
        self._work.pop(agent_id, None)
        self.router.remove_agent(agent_id)

    def work(self, agent_id: str) -> tuple[str, str] | None:
        """(call id, queue) the agent is reserved for, ringing, on or wrapping up."""
        work = self._work.get(agent_id)
        return (work.call_id, work.queue) if work is not None else None

    def in_queue(self, queue: str) -> list[Agent]:
        return [a for a in self.agents.values() if queue in a.queues]

    # -------------------------------------------------------------------- the choke point
    def change(
        self,
        agent: Agent,
        to: AgentState,
        reason: str | None = None,
        *,
        call_id: str | None = None,
        queue: str | None = None,
    ) -> StateChange:
        """Change ``agent``'s state (validated by `change_state`), journal it and publish it.

        ``call_id``/``queue`` name the work the agent takes (reserved) or is doing; moving to ready,
        not ready or logged out ends the agent's work.
        """
        if to is not AgentState.WRAP_UP:
            self._cancel_wrap(agent.agent_id)
        change = change_state(agent, to, self._clock, reason)
        if to is AgentState.RESERVED and call_id is not None:
            self._work[agent.agent_id] = _Work(call_id, queue or "")
        work = self._work.get(agent.agent_id)
        if to in (AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT):
            self._work.pop(agent.agent_id, None)
        self.router.update_agent(agent)
        self._journal_change(change, work.call_id if work else call_id, work.queue if work else queue)
        if to is not AgentState.WRAP_UP:
            self._wrap_ended(agent.agent_id)
        for subscriber in list(self.subscribers):
            try:
                subscriber(change, agent)
            except Exception:
                log.exception("agent state subscriber failed")
        return change

    def _journal_change(self, change: StateChange, call_id: str | None, queue: str | None) -> None:
        stream = agent_stream_id(change.agent_id, self._session)
        seq = self._seq.get(stream, 0) + 1
        self._seq[stream] = seq
        self._journal.append(
            CallEvent(
                stream,
                seq,
                change.at,
                EventKind.AGENT_STATE,
                {
                    "agent_id": change.agent_id,
                    "from": change.from_state.value,
                    "to": change.to_state.value,
                    "reason": change.reason,
                    "call_id": call_id,
                    "queue": queue or None,
                    "campaign": self.campaign_of(change.agent_id),
                },
            )
        )

    def reassign(self, agent_id: str, call_id: str, queue: str) -> None:
        """The work of an agent already reserved now has its own call id (an outbound line that was
        reserved for by its attempt id before the answered call existed)."""
        if agent_id in self._work:
            self._work[agent_id] = _Work(call_id, queue)

    # -------------------------------------------------------------------- wrap-up
    def start_wrap_up(
        self, agent: Agent, seconds: float, on_ready: Callable[[], None], on_end: WrapEnd | None = None
    ) -> None:
        """``agent`` (on a call) goes to wrap-up, then back to ready after ``seconds``; ``on_end`` is
        told the wrap-up's length when it ends, whatever ends it."""
        self.change(agent, AgentState.WRAP_UP)
        if on_end is not None:
            self._wrapping[agent.agent_id] = (self._clock.monotonic(), on_end)
        loop = asyncio.get_running_loop()

        def done() -> None:
            self._wrap_timers.pop(agent.agent_id, None)
            if agent.state is AgentState.WRAP_UP and self.agents.get(agent.agent_id) is agent:
                self.change(agent, AgentState.READY)
                on_ready()

        self._wrap_timers[agent.agent_id] = loop.call_later(max(0.0, seconds), done)

    def _wrap_ended(self, agent_id: str) -> None:
        wrapping = self._wrapping.pop(agent_id, None)
        if wrapping is None:
            return
        since, on_end = wrapping
        try:
            on_end(max(0.0, self._clock.monotonic() - since))
        except Exception:
            log.exception("wrap-up end of agent %s could not be reported", agent_id)

    def _cancel_wrap(self, agent_id: str) -> None:
        timer = self._wrap_timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        for timer in self._wrap_timers.values():
            timer.cancel()
        self._wrap_timers.clear()
        self._wrapping.clear()
