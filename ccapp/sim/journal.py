"""A simulated run as call-journal records: the events the real ACD journals, on the virtual clock.

`SimJournal` is a `ccapp.sim.engine.SimObserver`. Pass it to `run_scenario` and it turns each call
record and each agent state change into the `ccapp.storage.outbox.Record`s that ccapp's own journal
would have written for them, so `ccapp.storage.projection.write_batch` projects a simulated day onto
``calls``, ``queue_calls`` and ``agent_states`` exactly like a real one and ``ccapp kpi`` reports on
it. Pure: it only builds records; ``ccapp simulate --db`` stores them.

Per call (stream ``<run>-<call>``), with the data the ACD session, ringing and talk code record:

- ``call.started`` and ``queue.entered`` (entry 1) at the arrival;
- answered: ``queue.left`` (answered, ``wait_s``, target = the agent), one ``agent.offered`` per
  agent rung (ring-all rings several), ``agent.connected`` (``wait_s``, ``ring_s`` 0: agents answer
  at once) at the answer; ``agent.disconnected`` (``talk_s``, ``hold_s`` 0) and ``call.ended`` when
  the talk ends; ``agent.wrapped`` (``wrap_s``) when the wrap-up ends;
- otherwise: ``queue.left`` (abandoned | overflow | shutdown for a call still waiting when the run
  closed) with its ``wait_s``, then ``call.ended``.

Per agent (stream ``agent:<id>:<run>``, `ccapp.calls.model.agent_stream_id`): one ``agent.state``
per change, carrying the call and queue the agent works on from ``reserved`` until it is ready
again, as `ccapp.acd.desk.AgentDesk` journals them.

Waits and talk times are the simulator's exact floats (not rounded to the millisecond as the live
ACD does), so the SQL figures equal the simulator's even for a wait of exactly T.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from ccapp.acd.model import AgentState
from ccapp.acd.states import StateChange
from ccapp.calls.model import Direction, EventKind, agent_stream_id
from ccapp.sim.model import CallRecord, Outcome, Scenario
from ccapp.storage.outbox import Record

#: queue.left ``reason`` for each simulated outcome
LEFT_REASON = {
    Outcome.ANSWERED: "answered",
    Outcome.ABANDONED: "abandoned",
    Outcome.OVERFLOWED: "overflow",
    Outcome.CLOSED: "shutdown",
}
#: Q.850 normal clearing: every simulated call ends with a hang-up
NORMAL_CLEARING = 16
VIA = "sim"
_FREE = frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT})


class SimJournal:
    """Collects a run's journal records (``records``), in the order they happened per stream.

    ``run_id`` names the run: call ids are ``<run_id>-<simulator call id>`` and agent streams
    ``agent:<agent>:<run_id>``, so two runs never collide and storing one run twice changes nothing
    (the journal's writes are idempotent on stream and sequence number).
    """

    def __init__(self, run_id: str, scenario: Scenario | None = None) -> None:
        self.run_id = run_id
        # what queue.entered says of a queue's calls: priority, and the skill KPIs group by (the
        # call's own first skill, else the queue's first, as the ACD session does)
        self._entered: dict[str, tuple[int, str | None]] = {}
        if scenario is not None:
            queue_skill = {q.name: next(iter(q.skills), None) for q in scenario.queues}
            self._entered = {name: (0, skill) for name, skill in queue_skill.items()}
            for spec in reversed(scenario.arrivals):  # a queue's first arrivals win
                skill = next(iter(spec.skills), None) or queue_skill[spec.queue]
                self._entered[spec.queue] = (spec.priority, skill)
        self.records: list[Record] = []
        self._agent_seq: dict[str, int] = {}
        self._work: dict[str, tuple[str, str]] = {}  # agent id → (call id, queue) from reserved on
        self._rung: dict[str, list[str]] = {}  # simulator call id → agents rung for it

    def call_id(self, sim_call_id: str) -> str:
        """The journal's call id of a simulated call."""
        return f"{self.run_id}-{sim_call_id}"

    # -- SimObserver ------------------------------------------------------------------------------

    def agent_changed(self, change: StateChange, call_id: str | None, queue: str | None) -> None:
        agent = change.agent_id
        if change.to_state is AgentState.RESERVED and call_id is not None:
            self._work[agent] = (call_id, queue or "")
        if change.to_state is AgentState.RINGING and agent in self._work:
            self._rung.setdefault(self._work[agent][0], []).append(agent)
        work = self._work.get(agent)
        if change.to_state in _FREE:
            self._work.pop(agent, None)
        stream = agent_stream_id(agent, self.run_id)
        seq = self._agent_seq.get(stream, 0) + 1
        self._agent_seq[stream] = seq
        self.records.append(
            Record(
                stream,
                seq,
                change.at,
                EventKind.AGENT_STATE.value,
                {
                    "agent_id": agent,
                    "from": change.from_state.value,
                    "to": change.to_state.value,
                    "reason": change.reason,
                    "call_id": self.call_id(work[0]) if work else None,
                    "queue": (work[1] or None) if work else None,
                },
            )
        )

    def call_recorded(self, record: CallRecord) -> None:
        self.records.extend(self.call_records(record))

    # -- one call ---------------------------------------------------------------------------------

    def call_records(self, call: CallRecord) -> Iterator[Record]:
        """The journal records of one simulated call, seq 1, 2, …"""
        call_id = self.call_id(call.call_id)
        seq = 0

        def event(at: datetime, kind: EventKind, data: dict[str, Any]) -> Record:
            nonlocal seq
            seq += 1
            return Record(call_id, seq, at, kind.value, data)

        def entry(**data: Any) -> dict[str, Any]:
            return {"queue": call.queue, "entry": 1, **data}

        yield event(
            call.entered_at,
            EventKind.CALL_STARTED,
            {
                "direction": Direction.INBOUND.value,
                "via": VIA,
                "entry": f"sim/{call.queue}",
                "caller_number": None,
                "caller_name": None,
                "called_number": None,
            },
        )
        priority, skill = self._entered.get(call.queue, (0, None))
        yield event(
            call.entered_at,
            EventKind.QUEUE_ENTERED,
            entry(priority=priority, skills={}, skill=skill, position=None, expected_wait_s=None),
        )
        reason = LEFT_REASON[call.outcome]
        target = call.agent_id if call.outcome is Outcome.ANSWERED else None
        yield event(
            call.left_at, EventKind.QUEUE_LEFT, entry(reason=reason, wait_s=call.wait_s, target=target)
        )
        end = call.left_at
        if call.outcome is Outcome.ANSWERED and call.agent_id is not None:
            for agent in self._rung.pop(call.call_id, [call.agent_id]):
                yield event(
                    call.left_at,
                    EventKind.AGENT_OFFERED,
                    entry(agent_id=agent, leg_id=f"{call_id}-{agent}", endpoint=f"Local/{agent}@sim"),
                )
            leg_id = f"{call_id}-{call.agent_id}"
            yield event(
                call.left_at,
                EventKind.AGENT_CONNECTED,
                entry(agent_id=call.agent_id, leg_id=leg_id, wait_s=call.wait_s, ring_s=0.0, bridge_id=None),
            )
            end = call.left_at + timedelta(seconds=call.talk_s)
            yield event(
                end,
                EventKind.AGENT_DISCONNECTED,
                entry(agent_id=call.agent_id, leg_id=leg_id, talk_s=call.talk_s, hold_s=0.0, by="caller"),
            )
        yield event(
            end,
            EventKind.CALL_ENDED,
            {"cause": NORMAL_CLEARING, "cause_text": "Normal Clearing", "outcome": "completed"},
        )
        if call.outcome is Outcome.ANSWERED and call.agent_id is not None:
            yield event(
                end + timedelta(seconds=call.wrap_s),
                EventKind.AGENT_WRAPPED,
                entry(agent_id=call.agent_id, wrap_s=call.wrap_s),
            )


def batches(records: list[Record], size: int = 5000) -> Iterator[list[Record]]:
    """``records`` in slices of ``size`` for `ccapp.storage.projection.write_batch`."""
    for start in range(0, len(records), size):
        yield records[start : start + size]
