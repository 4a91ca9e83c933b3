"""The rules every router shares: who is eligible for a call, and how a strategy ranks agents.

Kept apart so the fast `Router` and the naive `reference_decide` cannot disagree on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccapp.acd.model import Agent, AgentState, Strategy, WaitingCall

#: (skill, minimum level) pairs, sorted by skill
Requirement = tuple[tuple[str, int], ...]
#: lower ranks first; the agent id last makes every rank unique
Rank = tuple[float, float, str]


@dataclass(frozen=True, slots=True)
class Assignment:
    """The router's decision: offer ``call`` to ``agents`` (one agent, or every eligible with ring_all)."""

    call: WaitingCall
    agents: tuple[Agent, ...]
    stage: int  # relaxation steps the call had reached
    requirement: Requirement  # what the agents had to have, after relaxation


def has_skills(agent: Agent, requirement: Requirement) -> bool:
    """True if ``agent`` has every required skill at (at least) the required level."""
    skills = agent.skills
    # a plain loop: about twice as fast as all(<generator>) on the router's hot path
    for skill, level in requirement:  # noqa: SIM110
        if skills.get(skill, 0) < level:
            return False
    return True


def is_eligible(agent: Agent, queue: str, requirement: Requirement) -> bool:
    """Ready, a member of ``queue`` and skilled enough: the agent may be offered the call."""
    return agent.state is AgentState.READY and queue in agent.queues and has_skills(agent, requirement)


def ready_since(agent: Agent) -> float:
    """When the agent became ready, in epoch seconds (an agent never stamped counts as idle forever)."""
    since = agent.state_since
    return since.timestamp() if since is not None else float("-inf")


def static_rank(strategy: Strategy, agent: Agent, rr_seq: int) -> Rank:
    """The rank that does not depend on the call. ``rr_seq``: when this queue last gave the agent a
    call (-1 never), for round_robin.
    """
    if strategy is Strategy.ROUND_ROBIN:
        return (float(rr_seq), 0.0, agent.agent_id)
    if strategy is Strategy.FEWEST_CALLS:
        return (float(agent.calls_today), ready_since(agent), agent.agent_id)
    return (ready_since(agent), 0.0, agent.agent_id)


def skills_score(agent: Agent, requirement: Requirement) -> int:
    """skills_weighted: the sum of the agent's levels in the call's required skills."""
    skills = agent.skills
    return sum(skills.get(skill, 0) for skill, _ in requirement)


def call_rank(strategy: Strategy, agent: Agent, rr_seq: int, requirement: Requirement) -> Rank:
    """The full rank of an agent for one call (lower is better)."""
    if strategy is Strategy.SKILLS_WEIGHTED:
        return (-float(skills_score(agent, requirement)), ready_since(agent), agent.agent_id)
    return static_rank(strategy, agent, rr_seq)
