"""Real-time wallboard figures: `RealtimeBoard` folds the ACD's facts as they happen. Pure.

Inputs are the facts the journal gets, handed over by `ccapp.acd.service.AcdService` listeners:

- every queue-entry event (`queue_event`, a `CallEvent` journaled through ``ccapp.acd.journal.record``);
  only ``queue.entered`` and ``queue.left`` move the figures;
- every agent state change (`agent_state`: the agent's new state and the queues it is a member of),
  and `agent_removed`.

Figures, per queue and overall:

- calls waiting (entered the queue and not left it; callbacks that left the line are not waiting)
  and the longest current wait. Waiting entries are kept per queue in arrival order (an
  `OrderedDict`), so the oldest is the head and every event costs O(1);
- agents by state (per queue: its members; overall: every agent known);
- today's queue measures (`ccapp.kpi.definitions.QUEUE_MEASURES` that queue events decide) and the
  KPIs computed from them with the same formulas as the reports. "Today" is the local day in
  ``zone`` (settings.kpi.time_zone); figures reset at local midnight. Like the SQL reports
  (``ccapp.kpi.engine.build_report``), an entry counts on the day it *entered*: it is an
  entry (so offered) as soon as it enters, and its outcome (answered, abandoned, short abandon, wait)
  is added when it leaves, only if it entered today. An entry that entered before midnight and is
  answered after it is in neither day's "today".
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ccapp.calls.model import CallEvent, EventKind
from ccapp.clock import Clock
from ccapp.kpi.definitions import Thresholds, compute

#: the KPIs the board shows for today (computed by `ccapp.kpi.definitions.compute`)
TODAY_KPIS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "service_level",
    "sl2",
    "asa_s",
    "abandon_rate",
)
ANSWERED = "answered"
ABANDONED = "abandoned"
EntryKey = tuple[str, int]


@dataclass(slots=True)
class _Today:
    """Today's additive queue measures (names as in `ccapp.kpi.definitions.QUEUE_MEASURES`)."""

    entries: int = 0
    short_abandons: int = 0
    answered: int = 0
    answered_within_t: int = 0
    all_abandoned: int = 0
    abandoned_within_t: int = 0
    answered_timed: int = 0
    answered_wait_s: float = 0.0

    def measures(self) -> dict[str, float]:
        return {
            "entries": self.entries,
            "short_abandons": self.short_abandons,
            "answered": self.answered,
            "answered_within_t": self.answered_within_t,
            "all_abandoned": self.all_abandoned,
            "abandoned_within_t": self.abandoned_within_t,
            "answered_timed": self.answered_timed,
            "answered_wait_s": self.answered_wait_s,
        }


@dataclass(frozen=True, slots=True)
class _Entry:
    queue: str
    entered_at: datetime


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """One queue on the wallboard. ``today`` holds the measures and `TODAY_KPIS` (ratios and means
    are None when their denominator is 0)."""

    queue: str
    waiting: int
    longest_wait_s: float
    agents: dict[str, int]
    today: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class Wallboard:
    """The board at ``at``: today began at ``day_start`` (local midnight in ``zone``)."""

    at: datetime
    day_start: datetime
    zone: str
    sl_threshold_s: float
    short_abandon_s: float
    queues: list[QueueFigures]
    waiting: int
    longest_wait_s: float
    agents: dict[str, int]
    today: dict[str, float | None]


def _wait(data: Mapping[str, Any], entered_at: datetime, at: datetime) -> float:
    # the event's own wait when it has one; else from the timestamps (as the projection does)
    value = data.get("wait_s")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return (at - entered_at).total_seconds()


def _figures(today: _Today) -> dict[str, float | None]:
    measures = today.measures()
    return {**measures, **compute(measures, TODAY_KPIS)}


class RealtimeBoard:
    """Live queue and agent figures for the wallboard; every fold is O(1) (amortised)."""

    def __init__(
        self,
        clock: Clock,
        *,
        zone: str = "UTC",
        thresholds: Thresholds | None = None,
        queues: Iterable[str] = (),
    ) -> None:
        self._clock = clock
        self.zone = zone
        self._tz = ZoneInfo(zone)
        self.thresholds = thresholds or Thresholds()
        self._queues: dict[str, None] = dict.fromkeys(queues)
        self._open: dict[EntryKey, _Entry] = {}
        self._waiting: dict[str, OrderedDict[EntryKey, datetime]] = {}
        self._today: dict[str, _Today] = {}
        self._agents: dict[str, tuple[str, frozenset[str]]] = {}
        self._by_state: Counter[str] = Counter()
        self._by_queue: dict[str, Counter[str]] = {}
        self.day_start, self._day_end = self._day_of(clock.now())

    # ------------------------------------------------------------------ time
    def _day_of(self, at: datetime) -> tuple[datetime, datetime]:
        day = at.astimezone(self._tz).date()
        start = datetime.combine(day, time(0), tzinfo=self._tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self._tz)
        return start, end

    def _roll(self, at: datetime) -> None:
        """A new local day began: today's measures start again (waiting calls stay)."""
        if at >= self._day_end:
            self.day_start, self._day_end = self._day_of(at)
            self._today.clear()

    def _counts(self, queue: str) -> _Today:
        self._queues.setdefault(queue)
        today = self._today.get(queue)
        if today is None:
            today = self._today[queue] = _Today()
        return today

    # ------------------------------------------------------------------ folds
    def queue_event(self, event: CallEvent) -> None:
        """Fold one queue-entry event (others are ignored)."""
        if event.kind is EventKind.QUEUE_ENTERED:
            self._entered(event)
        elif event.kind is EventKind.QUEUE_LEFT:
            self._left(event)

    def _key(self, event: CallEvent) -> EntryKey | None:
        entry = event.data.get("entry")
        if not isinstance(entry, int) or isinstance(entry, bool):
            return None
        return event.call_id, entry

    def _entered(self, event: CallEvent) -> None:
        key, queue = self._key(event), event.data.get("queue")
        if key is None or not isinstance(queue, str) or key in self._open:
            return
        self._roll(event.at)
        self._open[key] = _Entry(queue, event.at)
        self._waiting.setdefault(queue, OrderedDict())[key] = event.at
        if event.at >= self.day_start:
            self._counts(queue).entries += 1

    def _left(self, event: CallEvent) -> None:
        key = self._key(event)
        entry = self._open.pop(key, None) if key is not None else None
        if key is None or entry is None:
            return
        self._roll(event.at)
        self._waiting[entry.queue].pop(key, None)
        if entry.entered_at < self.day_start:
            return  # yesterday's entry: its outcome belongs to yesterday
        today = self._counts(entry.queue)
        reason = event.data.get("reason")
        wait = _wait(event.data, entry.entered_at, event.at)
        t = self.thresholds
        if reason == ANSWERED:
            today.answered += 1
            today.answered_timed += 1
            today.answered_wait_s += wait
            today.answered_within_t += wait <= t.sl_threshold_s
        elif reason == ABANDONED:
            today.all_abandoned += 1
            today.short_abandons += wait < t.short_abandon_s
            today.abandoned_within_t += wait <= t.sl_threshold_s

    def agent_state(self, agent_id: str, state: str, queues: Iterable[str]) -> None:
        """An agent is now in ``state`` and a member of ``queues`` (new agents are added)."""
        self._forget(agent_id)
        members = frozenset(queues)
        self._agents[agent_id] = (state, members)
        self._by_state[state] += 1
        for queue in members:
            self._queues.setdefault(queue)
            self._by_queue.setdefault(queue, Counter())[state] += 1

    def agent_removed(self, agent_id: str) -> None:
        """The agent was deleted."""
        self._forget(agent_id)

    def _forget(self, agent_id: str) -> None:
        old = self._agents.pop(agent_id, None)
        if old is None:
            return
        state, members = old
        self._by_state[state] -= 1
        for queue in members:
            self._by_queue[queue][state] -= 1

    # ------------------------------------------------------------------ reading
    def waiting(self, queue: str) -> int:
        return len(self._waiting.get(queue, ()))

    def longest_wait_s(self, queue: str, now: datetime) -> float:
        line = self._waiting.get(queue)
        if not line:
            return 0.0
        oldest = line[next(iter(line))]
        return max(0.0, (now - oldest).total_seconds())

    def snapshot(self) -> Wallboard:
        """The board now (by the injected clock); a new local day resets today's figures first."""
        now = self._clock.now()
        self._roll(now)
        queues = []
        total = _Today()
        for name in sorted(self._queues):
            today = self._today.get(name, _Today())
            for measure, value in today.measures().items():
                setattr(total, measure, getattr(total, measure) + value)
            agents = self._by_queue.get(name, Counter())
            queues.append(
                QueueFigures(
                    queue=name,
                    waiting=self.waiting(name),
                    longest_wait_s=round(self.longest_wait_s(name, now), 1),
                    agents={state: n for state, n in sorted(agents.items()) if n},
                    today=_figures(today),
                )
            )
        return Wallboard(
            at=now,
            day_start=self.day_start,
            zone=self.zone,
            sl_threshold_s=self.thresholds.sl_threshold_s,
            short_abandon_s=self.thresholds.short_abandon_s,
            queues=queues,
            waiting=len(self._open),
            longest_wait_s=max((q.longest_wait_s for q in queues), default=0.0),
            agents={state: n for state, n in sorted(self._by_state.items()) if n},
            today=_figures(total),
        )
