"""ACD values: agents and their states, queue configuration, calls waiting in a queue.

Plain data with validation at construction; no I/O. An agent's state changes only through
`ccapp.acd.states.change_state`; the router (`ccapp.acd.router`) reads these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ccapp.acd.errors import InvalidAcdConfig

MIN_LEVEL = 1
MAX_LEVEL = 5


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # picked by the router, not yet rung
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    NOT_READY = "not_ready"  # with a reason: "break", "missed" (ring-no-answer)…


class Strategy(StrEnum):
    """How a queue picks among the eligible ready agents."""

    LONGEST_IDLE = "longest_idle"  # the agent ready for the longest time
    ROUND_ROBIN = "round_robin"  # the agent this queue gave a call to least recently
    FEWEST_CALLS = "fewest_calls"  # the agent with the fewest calls today
    SKILLS_WEIGHTED = "skills_weighted"  # the highest sum of levels in the call's required skills
    RING_ALL = "ring_all"  # every eligible agent rings; the first to answer wins


def _check_skills(owner: str, skills: Mapping[str, int]) -> None:
    for skill, level in skills.items():
        if not skill:
            raise InvalidAcdConfig(f"{owner}: empty skill name")
        if isinstance(level, bool) or not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
            raise InvalidAcdConfig(
                f"{owner}: skill {skill!r} level {level!r} is not an integer {MIN_LEVEL}-{MAX_LEVEL}"
            )


@dataclass(slots=True)
class Agent:
    """A person taking calls. Mutable: `change_state` updates state fields, admin edits the rest.

    After any change the owner tells the router (`Router.update_agent`).
    """

    agent_id: str
    name: str
    endpoint: str  # any dial string: "PJSIP/1001", "Local/1001@agents"
    skills: dict[str, int] = field(default_factory=dict)  # skill → level 1-5
    queues: frozenset[str] = frozenset()
    max_calls: int = 1
    state: AgentState = AgentState.LOGGED_OUT
    not_ready_reason: str | None = None
    state_since: datetime | None = None
    last_call_ended_at: datetime | None = None
    calls_today: int = 0

    def __post_init__(self) -> None:
        if not self.agent_id:
            raise InvalidAcdConfig("agent: empty id")
        if not self.endpoint:
            raise InvalidAcdConfig(f"agent {self.agent_id!r}: empty endpoint")
        _check_skills(f"agent {self.agent_id!r}", self.skills)
        if self.max_calls != 1:
            # one call at a time is what the issue asks for; the router relies on it (ready = free)
            raise InvalidAcdConfig(f"agent {self.agent_id!r}: max_calls must be 1, not {self.max_calls}")
        self.queues = frozenset(self.queues)


@dataclass(frozen=True, slots=True)
class RelaxationStep:
    """From ``after_s`` seconds of waiting on, the call's skill requirements loosen.

    Steps are absolute, not cumulative: the last step reached applies alone. Each later step must be
    at least as loose as the one before (checked by `QueueConfig`), so a call only gains agents as
    it waits.
    """

    after_s: float
    lower_levels_by: int = 0  # every required minimum level drops by this much (never below 1)
    drop_skills: frozenset[str] = frozenset()  # these skills stop being required: other skills will do

    def __post_init__(self) -> None:
        if self.after_s <= 0:
            raise InvalidAcdConfig(f"relaxation step: after_s must be > 0, not {self.after_s}")
        if self.lower_levels_by < 0:
            raise InvalidAcdConfig(
                f"relaxation step: lower_levels_by must be >= 0, not {self.lower_levels_by}"
            )
        object.__setattr__(self, "drop_skills", frozenset(self.drop_skills))


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One ACD queue. ``skills`` are required of every agent who takes its calls (skill → min level)."""

    name: str
    skills: Mapping[str, int] = field(default_factory=dict)
    strategy: Strategy = Strategy.LONGEST_IDLE
    relaxation: tuple[RelaxationStep, ...] = ()
    wrap_up_s: float = 10.0
    ring_timeout_s: float = 15.0
    max_wait_s: float | None = None
    max_length: int | None = None
    overflow: str | None = None  # where calls go past max wait / max length: "queue:<name>", "voicemail", …

    def __post_init__(self) -> None:
        owner = f"queue {self.name!r}"
        if not self.name:
            raise InvalidAcdConfig("queue: empty name")
        _check_skills(owner, self.skills)
        try:
            object.__setattr__(self, "strategy", Strategy(self.strategy))
        except ValueError as exc:
            raise InvalidAcdConfig(f"{owner}: unknown strategy {self.strategy!r}") from exc
        object.__setattr__(self, "skills", dict(self.skills))
        object.__setattr__(self, "relaxation", tuple(self.relaxation))
        previous: RelaxationStep | None = None
        for step in self.relaxation:
            if previous is not None and not (
                step.after_s > previous.after_s
                and step.lower_levels_by >= previous.lower_levels_by
                and step.drop_skills >= previous.drop_skills
            ):
                raise InvalidAcdConfig(
                    f"{owner}: relaxation steps must come later and be at least as loose as the one before"
                    f" (step at {step.after_s} s)"
                )
            previous = step
        for name, value in (("wrap_up_s", self.wrap_up_s), ("ring_timeout_s", self.ring_timeout_s)):
            if value < 0:
                raise InvalidAcdConfig(f"{owner}: {name} must be >= 0, not {value}")
        if self.max_wait_s is not None and self.max_wait_s <= 0:
            raise InvalidAcdConfig(f"{owner}: max_wait_s must be > 0, not {self.max_wait_s}")
        if self.max_length is not None and self.max_length < 1:
            raise InvalidAcdConfig(f"{owner}: max_length must be >= 1, not {self.max_length}")

    def step_at(self, waited_s: float) -> int:
        """How many relaxation steps a call that has waited ``waited_s`` seconds has reached."""
        stage = 0
        for step in self.relaxation:
            if waited_s < step.after_s:
                break
            stage += 1
        return stage

    def requirement(self, call_skills: Mapping[str, int], stage: int) -> tuple[tuple[str, int], ...]:
        """The (skill, minimum level) pairs an agent needs for a call at relaxation ``stage``, sorted.

        The call's own skills (set by the IVR, e.g. a language) add to the queue's; where both name a
        skill the higher level counts.
        """
        merged = dict(self.skills)
        for skill, level in call_skills.items():
            if level > merged.get(skill, 0):
                merged[skill] = level
        if stage:
            step = self.relaxation[stage - 1]
            return tuple(
                sorted(
                    (skill, max(MIN_LEVEL, level - step.lower_levels_by))
                    for skill, level in merged.items()
                    if skill not in step.drop_skills
                )
            )
        return tuple(sorted(merged.items()))


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A call waiting in a queue. Higher ``priority`` goes first; then the longest waiting.

    A call given back after ring-no-answer keeps its ``entered_at``, so it is back at the head of
    its line.
    """

    call_id: str
    queue: str
    entered_at: datetime
    priority: int = 0
    required_skills: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_skills(f"call {self.call_id!r}", self.required_skills)
        object.__setattr__(self, "required_skills", dict(self.required_skills))

    def order_key(self) -> tuple[int, datetime, str]:
        """Sort key of the line across all queues: priority first, then wait, then id (stable)."""
        return (-self.priority, self.entered_at, self.call_id)
