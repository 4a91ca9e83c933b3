"""The routing rule in its plainest form: the specification `Router` must match, and its benchmark.

Looks at every waiting call and every agent (O(calls × agents)); never used to route real calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ccapp.acd.model import Agent, QueueConfig, Strategy, WaitingCall
from ccapp.acd.ranking import Assignment, call_rank, is_eligible


def reference_decide(
    queues: Mapping[str, QueueConfig],
    agents: Iterable[Agent],
    calls: Iterable[WaitingCall],
    now: datetime,
    rr_memory: Mapping[str, Mapping[str, int]] | None = None,
) -> Assignment | None:
    """The first call in line (priority, then wait) that an eligible agent can take, and its agent(s).

    ``rr_memory``: queue → agent id → sequence of the agent's last call from that queue (round robin).
    """
    everyone = list(agents)
    memory = rr_memory or {}
    for call in sorted(calls, key=WaitingCall.order_key):
        queue = queues[call.queue]
        stage = queue.step_at((now - call.entered_at).total_seconds())
        requirement = queue.requirement(call.required_skills, stage)
        eligible = [a for a in everyone if is_eligible(a, call.queue, requirement)]
        if not eligible:
            continue
        seqs = memory.get(call.queue, {})
        ranked = sorted(
            (call_rank(queue.strategy, a, seqs.get(a.agent_id, -1), requirement), a) for a in eligible
        )
        chosen = tuple(a for _, a in ranked) if queue.strategy is Strategy.RING_ALL else (ranked[0][1],)
        return Assignment(call, chosen, stage, requirement)
    return None
