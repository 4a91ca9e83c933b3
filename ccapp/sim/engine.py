"""The discrete-event loop: a virtual clock, a heap of events, ccapp's own router and state machine.

Nothing here re-implements routing. Calls enter `ccapp.acd.router.Router` with `add_call`, agents
change state only through `ccapp.acd.states.change_state` and are re-indexed with `update_agent`
after every change, and assignments come from `Router.route(now)` — the calls the ACD service makes.
What the simulator supplies is time (it jumps from event to event) and the people: callers who
arrive, wait, hang up or talk, and agents who answer at once (ringing is instant) and wrap up.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ccapp.acd.model import Agent, AgentState, QueueConfig, WaitingCall
from ccapp.acd.ranking import Assignment
from ccapp.acd.router import Router
from ccapp.acd.states import StateChange, change_state
from ccapp.sim.model import CallRecord, Outcome, Scenario, SimResult, Tally

S = AgentState

# event kinds; at equal times events run in the order they were scheduled
_SHIFT_START, _SHIFT_END, _ARRIVAL, _ABANDON, _MAX_WAIT, _TALK_END, _WRAP_END, _RECHECK = range(8)
_BUSY = frozenset({S.RESERVED, S.RINGING, S.ON_CALL, S.WRAP_UP})


class SimClock:
    """The `ccapp.clock.Clock` of a run: it moves only when the event loop sets it."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t = 0.0  # seconds since the start
        self._at = (0.0, start)  # now() for that t: many state changes share one instant

    def now(self) -> datetime:
        t, at = self._at
        if t != self.t:
            at = self.start + timedelta(seconds=self.t)
            self._at = (self.t, at)
        return at

    def monotonic(self) -> float:
        return self.t


@dataclass(slots=True)
class _Waiting:
    waiting: WaitingCall
    spec: int  # index of its ArrivalSpec
    entered: float
    measured: bool


class SimObserver(Protocol):
    """Told each agent state change and each call record as they happen (e.g.
    `ccapp.sim.journal.SimJournal`, which turns them into journal records). Without one the loop
    builds nothing more than its summaries."""

    def agent_changed(self, change: StateChange, call_id: str | None, queue: str | None) -> None:
        """``change`` just happened; ``call_id``/``queue`` are given when the agent is reserved."""

    def call_recorded(self, record: CallRecord) -> None:
        """A call left its queue (answered: its talk and wrap-up times are already drawn)."""


def run_scenario(scenario: Scenario, observer: SimObserver | None = None) -> SimResult:
    """Run ``scenario`` to the end (arrivals stop at its duration, then the center empties)."""
    return Simulation(scenario, observer).run()


class Simulation:
    """One run of a scenario. Use `run_scenario`, or `run` once on a fresh instance."""

    def __init__(self, scenario: Scenario, observer: SimObserver | None = None) -> None:
        self.scenario = scenario
        self.observer = observer
        self.clock = SimClock(scenario.start)
        self.rng = random.Random(scenario.seed)
        self.router = Router(scenario.queues)
        self._queues: dict[str, QueueConfig] = {q.name: q for q in scenario.queues}
        self._agents: dict[str, Agent] = {}
        self._shift_over: set[str] = set()
        self._wrap_queue: dict[str, str] = {}  # agent id → queue of the call it is on
        self._heap: list[tuple[float, int, int, int | str]] = []
        self._seq = 0
        self._calls = 0
        self._waiting: dict[str, _Waiting] = {}
        self._records: list[CallRecord] = []
        self._tally = Tally(scenario.service_level_s, scenario.short_abandon_s)
        self._by_queue = {
            q.name: Tally(scenario.service_level_s, scenario.short_abandon_s) for q in scenario.queues
        }
        # agent time in the measured window: handling (reserved … wrap-up) and ready idle
        self._since: dict[str, float] = {}
        self._handling = 0.0
        self._idle = 0.0
        self._events = 0

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> SimResult:
        sc = self.scenario
        for spec in sc.agents:
            agent = Agent(
                spec.agent_id,
                spec.agent_id,
                f"Local/{spec.agent_id}@sim",
                skills=dict(spec.skills),
                queues=spec.queues,
            )
            self._agents[agent.agent_id] = agent
            self.router.update_agent(agent)
            self._push(spec.shift_start_s, _SHIFT_START, agent.agent_id)
            if spec.shift_end_s is not None:
                self._push(spec.shift_end_s, _SHIFT_END, agent.agent_id)
        for index in range(len(sc.arrivals)):
            self._next_arrival(index, 0.0)
        heap = self._heap
        handlers = (
            self._on_shift_start,
            self._on_shift_end,
            self._on_arrival,
            self._on_abandon,
            self._on_max_wait,
            self._on_talk_end,
            self._on_wrap_end,
            self._on_recheck,
        )
        while heap:
            t, _, kind, ref = heapq.heappop(heap)
            self.clock.t = t
            self._events += 1
            handlers[kind](ref)
        self._close()
        busy = self._handling + self._idle
        summary = self._tally.summary(self._handling / busy if busy > 0 else None)
        by_queue = {name: tally.summary() for name, tally in self._by_queue.items()}
        return SimResult(tuple(self._records), summary, by_queue, self._events)

    def _push(self, t: float, kind: int, ref: int | str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, ref))

    def _next_arrival(self, index: int, after: float) -> None:
        spec = self.scenario.arrivals[index]
        t = spec.profile.next_arrival(after, self.rng, self.scenario.duration_s)
        if t is not None:
            self._push(t, _ARRIVAL, index)

    # -- agents -----------------------------------------------------------------------------------

    def _change(self, agent: Agent, to: AgentState, call: WaitingCall | None = None) -> None:
        """Account the time spent in the old state, then the one choke point and the router update.

        ``call``: the call the agent is reserved for (only the observer needs it)."""
        self._account(agent)
        change = change_state(agent, to, self.clock)
        self.router.update_agent(agent)
        if self.observer is not None:
            self.observer.agent_changed(
                change, None if call is None else call.call_id, None if call is None else call.queue
            )

    def _account(self, agent: Agent) -> None:
        t = self.clock.t
        since = self._since.get(agent.agent_id, t)
        self._since[agent.agent_id] = t
        lo = max(since, self.scenario.warmup_s)
        hi = min(t, self.scenario.duration_s)
        if hi <= lo:
            return
        if agent.state is S.READY:
            self._idle += hi - lo
        elif agent.state in _BUSY:
            self._handling += hi - lo

    def _on_shift_start(self, ref: int | str) -> None:
        agent = self._agents[str(ref)]
        if agent.agent_id in self._shift_over:
            return
        self._change(agent, S.READY)
        self._dispatch()

    def _on_shift_end(self, ref: int | str) -> None:
        agent = self._agents[str(ref)]
        self._shift_over.add(agent.agent_id)
        if agent.state is S.READY:
            self._change(agent, S.LOGGED_OUT)
        # a busy agent logs out when the call and its wrap-up are done

    def _free(self, agent: Agent) -> None:
        self._change(agent, S.LOGGED_OUT if agent.agent_id in self._shift_over else S.READY)

    def _on_talk_end(self, ref: int | str) -> None:
        agent = self._agents[str(ref)]
        self._change(agent, S.WRAP_UP)
        wrap = self._queues[self._wrap_queue.pop(agent.agent_id)].wrap_up_s
        if wrap > 0:
            self._push(self.clock.t + wrap, _WRAP_END, agent.agent_id)
        else:
            self._free(agent)
            self._dispatch()

    def _on_wrap_end(self, ref: int | str) -> None:
        self._free(self._agents[str(ref)])
        self._dispatch()

    # -- calls ------------------------------------------------------------------------------------

    def _on_arrival(self, ref: int | str) -> None:
        index = int(ref)
        sc = self.scenario
        spec = sc.arrivals[index]
        t = self.clock.t
        self._next_arrival(index, t)
        self._calls += 1
        call_id = f"sim-{self._calls:07d}"
        waiting = WaitingCall(call_id, spec.queue, self.clock.now(), spec.priority, spec.skills)
        self._waiting[call_id] = _Waiting(waiting, index, t, t >= sc.warmup_s)
        self.router.add_call(waiting)
        if spec.patience is not None:
            self._push(t + spec.patience.sample(self.rng), _ABANDON, call_id)
        queue = self._queues[spec.queue]
        if queue.max_wait_s is not None:
            self._push(t + queue.max_wait_s, _MAX_WAIT, call_id)
        for step in queue.relaxation:
            # a call reaching a relaxation step may become servable with no other event
            self._push(t + step.after_s, _RECHECK, call_id)
        self._dispatch()

    def _leave(self, call_id: str, outcome: Outcome) -> None:
        call = self._waiting.pop(call_id, None)
        if call is None:
            return  # answered (or gone) before this timer
        self.router.remove_call(call_id)
        self._record(
            CallRecord(
                call_id,
                call.waiting.queue,
                call.waiting.entered_at,
                self.clock.now(),
                outcome,
                self.clock.t - call.entered,
                measured=call.measured,
            )
        )

    def _on_abandon(self, ref: int | str) -> None:
        self._leave(str(ref), Outcome.ABANDONED)

    def _on_max_wait(self, ref: int | str) -> None:
        self._leave(str(ref), Outcome.OVERFLOWED)

    def _on_recheck(self, ref: int | str) -> None:
        if str(ref) in self._waiting:
            self._dispatch()

    def _dispatch(self) -> None:
        """Route until nothing more can be assigned now, as the ACD's dispatch does."""
        while assignments := self.router.route(self.clock.now()):
            for assignment in assignments:
                self._connect(assignment)

    def _connect(self, assignment: Assignment) -> None:
        call = self._waiting.pop(assignment.call.call_id)
        for agent in assignment.agents:
            self._change(agent, S.RESERVED, call.waiting)
        for agent in assignment.agents:
            self._change(agent, S.RINGING)
        winner, *losers = assignment.agents  # ring_all: the first ranked answers first
        for agent in losers:
            self._change(agent, S.READY)
        self._change(winner, S.ON_CALL)
        spec = self.scenario.arrivals[call.spec]
        talk = spec.handle.sample(self.rng)
        self._wrap_queue[winner.agent_id] = spec.queue
        self._push(self.clock.t + talk, _TALK_END, winner.agent_id)
        self._record(
            CallRecord(
                call.waiting.call_id,
                spec.queue,
                call.waiting.entered_at,
                self.clock.now(),
                Outcome.ANSWERED,
                self.clock.t - call.entered,
                agent_id=winner.agent_id,
                talk_s=talk,
                wrap_s=self._queues[spec.queue].wrap_up_s,
                measured=call.measured,
            )
        )

    # -- the end ----------------------------------------------------------------------------------

    def _close(self) -> None:
        for call_id in list(self._waiting):
            self._leave(call_id, Outcome.CLOSED)
        for agent in self._agents.values():
            self._account(agent)

    def _record(self, record: CallRecord) -> None:
        self._tally.add(record)
        self._by_queue[record.queue].add(record)
        if self.observer is not None:
            self.observer.call_recorded(record)
        if self.scenario.keep_records:
            self._records.append(record)
