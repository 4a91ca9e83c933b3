"""The one choke point where an agent's state changes.

`change_state` validates the move against `TRANSITIONS`, updates the agent, logs, and returns a
`StateChange` that the caller journals (agent state rows in SQL) and publishes. Time comes from the
injected clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from ccapp.acd.errors import InvalidTransition
from ccapp.acd.model import Agent, AgentState
from ccapp.clock import Clock

log = logging.getLogger(__name__)

S = AgentState

#: state → the states it may move to. Any logged-in state may go to logged_out (logout, or the
#: agent's phone unregistered); not_ready → not_ready changes the reason.
TRANSITIONS: MappingProxyType[AgentState, frozenset[AgentState]] = MappingProxyType(
    {
        S.LOGGED_OUT: frozenset({S.READY, S.NOT_READY}),
        S.READY: frozenset({S.RESERVED, S.NOT_READY, S.LOGGED_OUT}),
        # reserved → ready: the call left (abandoned) or went elsewhere before the agent was rung
        S.RESERVED: frozenset({S.RINGING, S.READY, S.NOT_READY, S.LOGGED_OUT}),
        # ringing → ready: the caller hung up, or another agent answered first (ring_all);
        # ringing → not_ready("missed"): ring-no-answer
        S.RINGING: frozenset({S.ON_CALL, S.READY, S.NOT_READY, S.LOGGED_OUT}),
        S.ON_CALL: frozenset({S.WRAP_UP, S.LOGGED_OUT}),
        S.WRAP_UP: frozenset({S.READY, S.NOT_READY, S.LOGGED_OUT}),
        S.NOT_READY: frozenset({S.READY, S.NOT_READY, S.LOGGED_OUT}),
    }
)

MISSED = "missed"  # the not-ready reason after ring-no-answer


@dataclass(frozen=True, slots=True)
class StateChange:
    """One agent state change, for the journal and for subscribers."""

    agent_id: str
    from_state: AgentState
    to_state: AgentState
    reason: str | None
    at: datetime


def change_state(agent: Agent, to: AgentState, clock: Clock, reason: str | None = None) -> StateChange:
    """Move ``agent`` to ``to`` or raise `InvalidTransition`; the only place an agent's state changes.

    ``reason`` is required for ``not_ready`` (e.g. ``"break"``, ``"missed"``) and refused otherwise,
    except for ``logged_out`` where it is optional ("unregistered", "admin"…).
    Side effects on the agent: ``state_since`` is now; leaving ``on_call`` stamps
    ``last_call_ended_at``; answering (``ringing → on_call``) counts a call in ``calls_today``.
    """
    from_state = agent.state
    if to not in TRANSITIONS[from_state]:
        raise InvalidTransition(agent.agent_id, from_state, to)
    if to is S.NOT_READY:
        if not reason:
            raise InvalidTransition(agent.agent_id, from_state, to, "not_ready needs a reason")
        if from_state is S.NOT_READY and reason == agent.not_ready_reason:
            raise InvalidTransition(agent.agent_id, from_state, to, f"already not ready ({reason})")
    elif reason is not None and to is not S.LOGGED_OUT:
        raise InvalidTransition(agent.agent_id, from_state, to, "only not_ready and logged_out take a reason")

    at = clock.now()
    agent.state = to
    agent.state_since = at
    agent.not_ready_reason = reason if to is S.NOT_READY else None
    if from_state is S.ON_CALL:
        agent.last_call_ended_at = at
    if from_state is S.RINGING and to is S.ON_CALL:
        agent.calls_today += 1
    log.debug("agent %s: %s → %s (%s)", agent.agent_id, from_state, to, reason or "-")
    return StateChange(agent.agent_id, from_state, to, reason, at)
