"""Agent-time measures from agent-state rows: spans split at interval edges. Pure.

Each row's ``to_state`` lasts until the agent's next row (whatever its session: a stream that ended
without a logout stops at the next session's first row), the last one until ``min(end, now)``.
Spans are clipped to the period and split at the report's interval edges, in exact microseconds.

``handling_s``: reserved, ringing, on_call, wrap_up; ``ready_s``: ready; ``logged_in_s``: any state
but logged_out; ``campaign_logged_in_s``: logged-in time in rows that name a campaign.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from ccapp.acd.model import AgentState
from ccapp.kpi.buckets import Label, epoch_us

HANDLING = frozenset({AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP})
#: the dimensions agent time can be grouped and filtered by
DIMENSIONS = ("agent", "campaign")

StateRow = tuple[str, datetime, str | None, str | None]  # agent_id, at, to_state, campaign
Key = tuple[tuple[str | None, ...], Label | None]


@dataclass(frozen=True, slots=True)
class Span:
    """One agent in one state (and campaign) over ``[start_us, end_us)`` (epoch microseconds)."""

    agent: str
    state: str
    campaign: str | None
    start_us: int
    end_us: int


def spans(rows: Iterable[StateRow], start: datetime, end: datetime, now: datetime) -> list[Span]:
    """The logged-in spans of ``rows`` (ordered by agent then time) clipped to ``[start, end)``."""
    lo, hi = epoch_us(start), epoch_us(min(end, max(now, start)))
    out: list[Span] = []
    for agent, agent_rows in groupby(rows, key=lambda r: r[0]):
        listed = list(agent_rows)
        for i, (_, at, state, campaign) in enumerate(listed):
            if state is None or state == AgentState.LOGGED_OUT:
                continue
            stop = epoch_us(listed[i + 1][1]) if i + 1 < len(listed) else hi
            a, b = max(epoch_us(at), lo), min(stop, hi)
            if b > a:
                out.append(Span(agent, state, campaign, a, b))
    return out


def measures(
    all_spans: Iterable[Span],
    dimensions: Sequence[str],
    where: Mapping[str, str],
    edges: Sequence[tuple[int, Label]] | None,
) -> dict[Key, dict[str, float]]:
    """Agent-time measures per (dimension values, interval); ``edges`` from `buckets.edges` (None:
    no interval)."""
    starts = [e * 1_000_000 for e, _ in edges] if edges else []
    totals: dict[Key, dict[str, int]] = {}
    for s in all_spans:
        values = {"agent": s.agent, "campaign": s.campaign}
        if any(values.get(d) != v for d, v in where.items()):
            continue
        dims = tuple(values[d] for d in dimensions)
        for label, a, b in _split(s.start_us, s.end_us, starts, edges):
            acc = totals.setdefault((dims, label), {})
            d = b - a
            acc["logged_in_s"] = acc.get("logged_in_s", 0) + d
            if s.state in HANDLING:
                acc["handling_s"] = acc.get("handling_s", 0) + d
            elif s.state == AgentState.READY:
                acc["ready_s"] = acc.get("ready_s", 0) + d
            if s.campaign is not None:
                acc["campaign_logged_in_s"] = acc.get("campaign_logged_in_s", 0) + d
    return {k: {n: v / 1_000_000 for n, v in m.items()} for k, m in totals.items()}


def _split(
    a: int, b: int, starts: list[int], edges: Sequence[tuple[int, Label]] | None
) -> list[tuple[Label | None, int, int]]:
    if not edges:
        return [(None, a, b)]
    out: list[tuple[Label | None, int, int]] = []
    i = max(bisect_right(starts, a) - 1, 0)
    while a < b and i < len(edges):
        stop = starts[i + 1] if i + 1 < len(starts) else b
        if stop > a:
            out.append((edges[i][1], a, min(stop, b)))
            a = min(stop, b)
        i += 1
    return out
