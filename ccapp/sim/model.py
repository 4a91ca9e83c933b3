"""Simulator values: the scenario to run, the record of each call, and the summary figures.

A `CallRecord` carries what the call journal will need to replay a simulated call into SQL
(`ccapp kpi` on simulated days): id, queue, entry and exit times, outcome, wait, agent, talk, wrap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ccapp.acd.errors import InvalidAcdConfig
from ccapp.acd.model import QueueConfig
from ccapp.sim.distributions import InvalidScenario, RateProfile, Sampler, profile_from, sampler_from


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while waiting (patience ran out)
    OVERFLOWED = "overflowed"  # waited the queue's max_wait_s
    CLOSED = "closed"  # still waiting when the run ended with no agent left to take it


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent of the scenario: ready at ``shift_start_s``, logged out at ``shift_end_s`` (seconds
    since the simulation start) or, if busy then, as soon as the call and its wrap-up end.
    """

    agent_id: str
    queues: frozenset[str]
    skills: Mapping[str, int] = field(default_factory=dict)
    shift_start_s: float = 0.0
    shift_end_s: float | None = None  # None: until the run ends

    def __post_init__(self) -> None:
        object.__setattr__(self, "queues", frozenset(self.queues))
        object.__setattr__(self, "skills", dict(self.skills))
        if self.shift_start_s < 0:
            raise InvalidScenario(f"agent {self.agent_id!r}: shift_start_s must be >= 0")
        if self.shift_end_s is not None and self.shift_end_s <= self.shift_start_s:
            raise InvalidScenario(f"agent {self.agent_id!r}: shift ends before it starts")


@dataclass(frozen=True, slots=True)
class ArrivalSpec:
    """The calls of one queue: when they come, how long they talk, how long they wait at most."""

    queue: str
    profile: RateProfile
    handle: Sampler  # talk time; wrap-up is the queue's wrap_up_s
    patience: Sampler | None = None  # None: callers never hang up while waiting
    priority: int = 0
    skills: Mapping[str, int] = field(default_factory=dict)  # the call's own required skills

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", dict(self.skills))


DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a run needs. Calls arrive in [0, ``duration_s``); the run then lets the calls in
    the center finish. Statistics count the calls that arrived in [``warmup_s``, ``duration_s``).
    """

    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentSpec, ...]
    arrivals: tuple[ArrivalSpec, ...]
    duration_s: float
    warmup_s: float = 0.0
    seed: int = 1
    start: datetime = DEFAULT_START  # midnight: daily profiles align with the day
    service_level_s: float = 20.0  # T of the service level
    short_abandon_s: float = 0.0  # S: abandons quicker than this are not offered (0 = all offered)
    keep_records: bool = True  # False: summaries only, for runs of millions of calls

    def __post_init__(self) -> None:
        for name in ("queues", "agents", "arrivals"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        names = {q.name for q in self.queues}
        if len(names) != len(self.queues):
            raise InvalidScenario("scenario: two queues with the same name")
        if len({a.agent_id for a in self.agents}) != len(self.agents):
            raise InvalidScenario("scenario: two agents with the same id")
        for spec in self.arrivals:
            if spec.queue not in names:
                raise InvalidScenario(f"arrivals: unknown queue {spec.queue!r}")
        for agent in self.agents:
            unknown = agent.queues - names
            if unknown:
                raise InvalidScenario(f"agent {agent.agent_id!r}: unknown queues {sorted(unknown)}")
        if not self.duration_s > 0:
            raise InvalidScenario(f"scenario: duration_s must be > 0, not {self.duration_s}")
        if not 0 <= self.warmup_s < self.duration_s:
            raise InvalidScenario("scenario: warmup_s must be in [0, duration_s)")
        if self.start.tzinfo is None:
            raise InvalidScenario("scenario: start must be timezone-aware")


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One simulated call, from queue entry to leaving the queue and (if answered) the agent."""

    call_id: str
    queue: str
    entered_at: datetime
    left_at: datetime  # answered: the agent answered; otherwise the caller left the queue
    outcome: Outcome
    wait_s: float
    agent_id: str | None = None
    talk_s: float = 0.0
    wrap_s: float = 0.0
    measured: bool = True  # False: arrived during the warm-up, not in the statistics


@dataclass(frozen=True, slots=True)
class Summary:
    """Figures over the measured calls (DESIGN §5 with offered = entries − short abandons)."""

    offered: int
    answered: int
    abandoned: int
    overflowed: int
    answered_within_t: int
    service_level: float | None  # answered within T / offered
    asa_s: float | None  # mean wait of answered calls
    abandon_rate: float | None  # abandoned (≥ S) / offered
    p_wait: float | None  # P(wait > 0) over all entries
    aht_s: float | None  # mean talk + wrap of answered calls
    occupancy: float | None  # handling / (handling + ready idle), over the measured window

    @classmethod
    def of(
        cls,
        records: Iterable[CallRecord],
        *,
        service_level_s: float,
        short_abandon_s: float = 0.0,
        occupancy: float | None = None,
    ) -> Summary:
        """The summary of ``records`` (only the measured ones count)."""
        tally = Tally(service_level_s, short_abandon_s)
        for record in records:
            tally.add(record)
        return tally.summary(occupancy)


class Tally:
    """Running counts for a `Summary`, fed one record at a time (O(1) memory per run)."""

    __slots__ = (
        "_s",
        "_t",
        "abandoned",
        "answered",
        "entries",
        "handle_sum",
        "overflowed",
        "short",
        "wait_sum",
        "waited",
        "within",
    )

    def __init__(self, service_level_s: float, short_abandon_s: float = 0.0) -> None:
        self._t = service_level_s
        self._s = short_abandon_s
        self.entries = self.answered = self.abandoned = self.overflowed = 0
        self.within = self.waited = self.short = 0
        self.wait_sum = self.handle_sum = 0.0

    def add(self, record: CallRecord) -> None:
        if not record.measured:
            return
        self.entries += 1
        if record.wait_s > 0:
            self.waited += 1
        if record.outcome is Outcome.ANSWERED:
            self.answered += 1
            self.wait_sum += record.wait_s
            self.handle_sum += record.talk_s + record.wrap_s
            if record.wait_s <= self._t:
                self.within += 1
        elif record.outcome is Outcome.ABANDONED:
            if record.wait_s < self._s:
                self.short += 1
            else:
                self.abandoned += 1
        elif record.outcome is Outcome.OVERFLOWED:
            self.overflowed += 1

    def summary(self, occupancy: float | None = None) -> Summary:
        offered = self.entries - self.short
        answered = self.answered
        return Summary(
            offered=offered,
            answered=answered,
            abandoned=self.abandoned,
            overflowed=self.overflowed,
            answered_within_t=self.within,
            service_level=self.within / offered if offered else None,
            asa_s=self.wait_sum / answered if answered else None,
            abandon_rate=self.abandoned / offered if offered else None,
            p_wait=self.waited / self.entries if self.entries else None,
            aht_s=self.handle_sum / answered if answered else None,
            occupancy=occupancy,
        )


@dataclass(frozen=True, slots=True)
class SimResult:
    """A run's calls (empty unless the scenario keeps them), its summary over all queues and one per
    queue.
    """

    records: tuple[CallRecord, ...]
    summary: Summary
    by_queue: dict[str, Summary]
    events: int  # events processed, for speed figures


_QUEUE_KEYS = frozenset({"name", "skills", "strategy", "wrap_up_s", "max_wait_s"})


def _keys(item: object, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidScenario(f"{where}: expected a mapping")
    unknown = set(item) - allowed
    if unknown:
        raise InvalidScenario(f"{where}: unknown keys {sorted(unknown)}")
    missing = required - set(item)
    if missing:
        raise InvalidScenario(f"{where}: missing {sorted(missing)}")
    return item


def scenario_from_mapping(data: Mapping[str, Any]) -> Scenario:
    """A `Scenario` from a parsed scenario file (YAML/JSON); errors name the entry and key.

    ``agents`` entries with ``count: n`` stand for n agents ``<id>-1`` … ``<id>-n``; ``shift`` is
    ``[start_s, end_s]`` (end may be null). See docs/simulator.md for an example.
    """
    top = _keys(
        dict(data),
        "scenario",
        {
            "queues",
            "agents",
            "arrivals",
            "duration_s",
            "warmup_s",
            "seed",
            "service_level_s",
            "short_abandon_s",
            "start",
        },
        {"queues", "agents", "arrivals", "duration_s"},
    )
    queues = []
    for i, item in enumerate(top["queues"]):
        where = f"queues[{i}]"
        q = _keys(item, where, set(_QUEUE_KEYS), {"name"})
        try:
            queues.append(QueueConfig(**q))
        except (InvalidAcdConfig, TypeError) as exc:
            raise InvalidScenario(f"{where}: {exc}") from exc
    agents: list[AgentSpec] = []
    for i, item in enumerate(top["agents"]):
        where = f"agents[{i}]"
        a = _keys(item, where, {"id", "queues", "skills", "shift", "count"}, {"id", "queues"})
        start, end = a.get("shift") or (0.0, None)
        count = int(a.get("count", 0))
        ids = [f"{a['id']}-{n}" for n in range(1, count + 1)] if count else [str(a["id"])]
        for agent_id in ids:
            agents.append(
                AgentSpec(
                    agent_id,
                    frozenset(a["queues"]),
                    dict(a.get("skills") or {}),
                    float(start),
                    None if end is None else float(end),
                )
            )
    arrivals = []
    for i, item in enumerate(top["arrivals"]):
        where = f"arrivals[{i}]"
        c = _keys(
            item,
            where,
            {"queue", "calls_per_hour", "handle", "patience", "priority", "skills"},
            {"queue", "calls_per_hour", "handle"},
        )
        patience = c.get("patience")
        arrivals.append(
            ArrivalSpec(
                str(c["queue"]),
                profile_from(c["calls_per_hour"], f"{where}.calls_per_hour"),
                sampler_from(c["handle"], f"{where}.handle"),
                None if patience is None else sampler_from(patience, f"{where}.patience"),
                int(c.get("priority", 0)),
                dict(c.get("skills") or {}),
            )
        )
    return Scenario(
        tuple(queues),
        tuple(agents),
        tuple(arrivals),
        float(top["duration_s"]),
        warmup_s=float(top.get("warmup_s", 0.0)),
        seed=int(top.get("seed", 1)),
        service_level_s=float(top.get("service_level_s", 20.0)),
        short_abandon_s=float(top.get("short_abandon_s", 0.0)),
        start=_start(top["start"]) if "start" in top else DEFAULT_START,
    )


def _start(value: object) -> datetime:
    """``start``: an ISO date-time with its offset (YAML may already have parsed it)."""
    try:
        start = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidScenario(f"start: {value!r} is not a date-time like 2026-03-02T00:00:00+01:00") from exc
    if start.tzinfo is None:
        raise InvalidScenario("start: give its UTC offset, e.g. 2026-03-02T00:00:00+01:00")
    return start
